"""a training's time zone and the weekday and hour of its weekly digest

Revision ID: tzn0001
Revises: lif0001
Create Date: 2026-12-02 15:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "tzn0001"
down_revision = "lif0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=False, server_default="Europe/Moscow"))
        batch_op.add_column(sa.Column("digest_weekday", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("digest_hour", sa.Integer(), nullable=False, server_default="9"))


def downgrade():
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.drop_column("digest_hour")
        batch_op.drop_column("digest_weekday")
        batch_op.drop_column("timezone")
