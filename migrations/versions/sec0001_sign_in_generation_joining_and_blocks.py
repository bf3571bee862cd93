"""ways in that can be closed: a per-person sign-in generation, closing a training's joining,
people blocked from rejoining, and the address a verification link confirms

Revision ID: sec0001
Revises: mal0001
Create Date: 2026-12-02 18:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "sec0001"
down_revision = "mal0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("sign_in_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("trainings") as batch:
        batch.add_column(sa.Column("joining_closed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("sign_in_links") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "join_blocks",
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("blocked_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["training_id"], ["trainings.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["blocked_by_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("training_id", "person_id"),
    )


def downgrade():
    op.drop_table("join_blocks")
    with op.batch_alter_table("sign_in_links") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("trainings") as batch:
        batch.drop_column("joining_closed_at")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("sign_in_generation")
