"""mail a person switched off, and the ledger of mails sent exactly once

Revision ID: mal0001
Revises: tzn0001
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "mal0001"
down_revision = "tzn0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_opt_outs",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("person_id", "kind"),
    )
    op.create_table(
        "mail_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period_key", sa.String(length=120), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=True),
        sa.Column("slot_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["training_id"], ["trainings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "kind", "period_key"),
    )
    with op.batch_alter_table("mail_sends", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_sends_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_sends_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_sends_training_id"), ["training_id"], unique=False)


def downgrade():
    op.drop_table("mail_sends")
    op.drop_table("mail_opt_outs")
