"""co-moderators: other moderators who run a training

Revision ID: com0001
Revises: 527671599922
Create Date: 2026-12-02 12:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "com0001"
down_revision = "527671599922"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "training_moderators",
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
        ),
        sa.PrimaryKeyConstraint("training_id", "person_id"),
    )
    with op.batch_alter_table("training_moderators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_moderators_person_id"), ["person_id"], unique=False)


def downgrade():
    with op.batch_alter_table("training_moderators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_moderators_person_id"))
    op.drop_table("training_moderators")
