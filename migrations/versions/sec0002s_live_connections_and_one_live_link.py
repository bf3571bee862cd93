"""every live connection of a signed-in person, so ending their sessions closes it on any
server process; at most one unused personal sign-in link and device code per person

Revision ID: sec0002s
Revises: sec0002d
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "sec0002s"
down_revision = "sec0002d"
branch_labels = None
depends_on = None

ONE_LIVE_PER_PERSON = sa.text("used_at IS NULL AND kind IN ('link', 'device')")


def upgrade():
    op.create_table(
        "live_connections",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_live_connections_person_id", "live_connections", ["person_id"])
    op.create_index("ix_live_connections_seen_at", "live_connections", ["seen_at"])
    # Links issued at the same moment may both be unused: keep the newest of each.
    op.execute(
        "UPDATE sign_in_links SET used_at = created_at "
        "WHERE used_at IS NULL AND kind IN ('link', 'device') AND id NOT IN ("
        "SELECT newest FROM (SELECT MAX(id) AS newest FROM sign_in_links "
        "WHERE used_at IS NULL AND kind IN ('link', 'device') GROUP BY person_id, kind) AS newest_links)"
    )
    op.create_index(
        "one_live_sign_in_link",
        "sign_in_links",
        ["person_id", "kind"],
        unique=True,
        sqlite_where=ONE_LIVE_PER_PERSON,
        postgresql_where=ONE_LIVE_PER_PERSON,
    )


def downgrade():
    op.drop_index("one_live_sign_in_link", table_name="sign_in_links")
    op.drop_index("ix_live_connections_seen_at", table_name="live_connections")
    op.drop_index("ix_live_connections_person_id", table_name="live_connections")
    op.drop_table("live_connections")
