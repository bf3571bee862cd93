"""read-only link viewers are live connections too (live_connections.share_link_id, person_id
unset), so revoking a link closes its viewers on every server process

Revision ID: mlt0001
Revises: p15replay
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "mlt0001"
down_revision = "p15replay"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("live_connections", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("share_link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_live_connections_share_link_id", "share_links", ["share_link_id"], ["id"])
        batch_op.create_index("ix_live_connections_share_link_id", ["share_link_id"], unique=False)


def downgrade():
    op.execute("DELETE FROM live_connections WHERE person_id IS NULL")
    with op.batch_alter_table("live_connections", schema=None) as batch_op:
        batch_op.drop_index("ix_live_connections_share_link_id")
        batch_op.drop_constraint("fk_live_connections_share_link_id", type_="foreignkey")
        batch_op.drop_column("share_link_id")
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=False)
