"""finished export files kept per map revision, format and variant, shared by server processes

Revision ID: p15heavy
Revises: sec0002s
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "p15heavy"
down_revision = "sec0002s"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cached_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roadmap_id", sa.Integer(), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["roadmap_id"], ["roadmaps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("roadmap_id", "file_format", "variant", "revision", name="one_cached_export_per_key"),
    )
    op.create_index("ix_cached_exports_roadmap_id", "cached_exports", ["roadmap_id"])
    op.create_index("ix_cached_exports_made_at", "cached_exports", ["made_at"])


def downgrade():
    op.drop_index("ix_cached_exports_made_at", table_name="cached_exports")
    op.drop_index("ix_cached_exports_roadmap_id", table_name="cached_exports")
    op.drop_table("cached_exports")
