"""projector: what the projector shows (join screen, one map, every group, vote results)

Revision ID: prj0001
Revises: rdy0001
Create Date: 2026-12-02 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "prj0001"
down_revision = "rdy0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("projector_mode", sa.String(length=16), nullable=False, server_default="join"))
    # A training that already projects a map keeps showing it.
    op.execute("UPDATE trainings SET projector_mode = 'map' WHERE projected_group_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.drop_column("projector_mode")
