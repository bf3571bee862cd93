"""stakeholder sector, interest and influence may be unset (null); a map's updated_at is null until its first content edit

Revision ID: rdy0001
Revises: com0001
Create Date: 2026-12-02 12:00:00

Existing stakeholders keep their values; new ones start unset. Existing maps
that were never edited (revision 0) lose their creation time as "last edit".
"""

import sqlalchemy as sa
from alembic import op

revision = "rdy0001"
down_revision = "com0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.alter_column("sector", existing_type=sa.String(length=20), nullable=True)
        batch_op.alter_column("interest", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("influence", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("roadmaps", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(), nullable=True)
    op.execute("UPDATE roadmaps SET updated_at = NULL WHERE revision = 0")


def downgrade():
    op.execute("UPDATE roadmaps SET updated_at = CURRENT_TIMESTAMP WHERE updated_at IS NULL")
    with op.batch_alter_table("roadmaps", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
    # Unset values get the defaults stakeholders had before they could be unset.
    op.execute("UPDATE stakeholders SET sector = 'residents' WHERE sector IS NULL")
    op.execute("UPDATE stakeholders SET interest = 3 WHERE interest IS NULL")
    op.execute("UPDATE stakeholders SET influence = 3 WHERE influence IS NULL")
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.alter_column("sector", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("interest", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("influence", existing_type=sa.Integer(), nullable=False)
