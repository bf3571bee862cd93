"""comments on steps, who has read them, and mentions

Revision ID: cmt0001
Revises: dep0001
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "cmt0001"
down_revision = "dep0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("roadmap_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["roadmap_id"], ["roadmaps.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comments_roadmap_step", "comments", ["roadmap_id", "step_id"])
    op.create_table(
        "comment_reads",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("person_id", "step_id"),
    )
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(length=40), nullable=False),
        sa.Column("roadmap_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
        sa.Column("mail_send_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.ForeignKeyConstraint(["mail_send_id"], ["mail_sends.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["roadmap_id"], ["roadmaps.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mentions_person_id", "mentions", ["person_id"])
    op.create_index("ix_mentions_mail_send_id", "mentions", ["mail_send_id"])


def downgrade():
    op.drop_index("ix_mentions_mail_send_id", table_name="mentions")
    op.drop_index("ix_mentions_person_id", table_name="mentions")
    op.drop_table("mentions")
    op.drop_table("comment_reads")
    op.drop_index("ix_comments_roadmap_step", table_name="comments")
    op.drop_table("comments")
