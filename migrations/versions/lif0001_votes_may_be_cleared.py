"""a vote may be cleared from every screen (votes.cleared_at); its dots stay

Revision ID: lif0001
Revises: dev0001
Create Date: 2026-12-02 13:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "lif0001"
down_revision = "dev0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cleared_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_column("cleared_at")
