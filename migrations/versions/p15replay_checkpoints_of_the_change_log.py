"""checkpoints of the change log: a map's replay kept every CHECKPOINT_EVERY revisions

Revision ID: p15replay
Revises: p15heavy
Create Date: 2026-12-03 12:00:00

The table starts empty: checkpoints are written when a replay first passes them.
"""

import sqlalchemy as sa
from alembic import op

revision = "p15replay"
down_revision = "p15heavy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roadmap_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("replay_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["roadmap_id"], ["roadmaps.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("roadmap_id", "revision"),
    )
    op.create_index("ix_checkpoints_roadmap_id", "checkpoints", ["roadmap_id"])


def downgrade():
    op.drop_index("ix_checkpoints_roadmap_id", table_name="checkpoints")
    op.drop_table("checkpoints")
