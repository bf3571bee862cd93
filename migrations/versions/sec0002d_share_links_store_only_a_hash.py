"""share links keep only a hash of their secret (and the nonce a new link's secret is derived from)

Revision ID: sec0002d
Revises: sec0001
Create Date: 2026-12-03 10:00:00

Links made before keep working: their secret's SHA-256 is what the app looks a URL up by.
Downgrading cannot bring the secrets back: each link gets a new random one, so the URLs
handed out stop working.
"""

import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = "sec0002d"
down_revision = "sec0001"
branch_labels = None
depends_on = None

share_links = sa.table(
    "share_links",
    sa.column("id", sa.Integer),
    sa.column("token", sa.String),
    sa.column("token_hash", sa.String),
)


def upgrade():
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("token_nonce", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    for link_id, token in connection.execute(sa.select(share_links.c.id, share_links.c.token)).all():
        connection.execute(
            share_links.update()
            .where(share_links.c.id == link_id)
            .values(token_hash=hashlib.sha256(token.encode()).hexdigest())
        )
    with op.batch_alter_table("share_links") as batch:
        batch.alter_column("token_hash", existing_type=sa.String(length=64), nullable=False)
        batch.drop_index("ix_share_links_token")
        batch.drop_column("token")
        batch.create_index("ix_share_links_token_hash", ["token_hash"], unique=True)


def downgrade():
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for (link_id,) in connection.execute(sa.select(share_links.c.id)).all():
        connection.execute(
            share_links.update().where(share_links.c.id == link_id).values(token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("share_links") as batch:
        batch.alter_column("token", existing_type=sa.String(length=64), nullable=False)
        batch.drop_index("ix_share_links_token_hash")
        batch.drop_column("token_nonce")
        batch.drop_column("token_hash")
        batch.create_index("ix_share_links_token", ["token"], unique=True)
