"""a step lists the steps it depends on (finish-to-start)

Revision ID: dep0001
Revises: mlt0001
Create Date: 2026-12-03 13:30:00

Existing steps depend on none.
"""

import sqlalchemy as sa
from alembic import op

revision = "dep0001"
down_revision = "mlt0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("depends_on", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade():
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("depends_on")
