"""stakeholder sector, interest and influence may be unset (null)

Revision ID: rdy0001
Revises: 527671599922
Create Date: 2026-12-02 12:00:00

Existing stakeholders keep their values; new ones start unset.
"""
from alembic import op
import sqlalchemy as sa


revision = 'rdy0001'
down_revision = '527671599922'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.alter_column('sector', existing_type=sa.String(length=20), nullable=True)
        batch_op.alter_column('interest', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('influence', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Unset values get the defaults stakeholders had before they could be unset.
    op.execute("UPDATE stakeholders SET sector = 'residents' WHERE sector IS NULL")
    op.execute("UPDATE stakeholders SET interest = 3 WHERE interest IS NULL")
    op.execute("UPDATE stakeholders SET influence = 3 WHERE influence IS NULL")
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.alter_column('sector', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('interest', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('influence', existing_type=sa.Integer(), nullable=False)
