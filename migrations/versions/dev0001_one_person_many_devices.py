"""one person, many devices: device codes among sign-in links, merged people

Revision ID: dev0001
Revises: prj0001
Create Date: 2026-12-02 12:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "dev0001"
down_revision = "prj0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="link", nullable=False))

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_people_merged_into_id_people", "people", ["merged_into_id"], ["id"])


def downgrade():
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint("fk_people_merged_into_id_people", type_="foreignkey")
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.drop_column("kind")
