"""A part of a job counts its attempts, so a part whose worker is killed each time ends.

A job counted its attempts and failed after ``job_attempts``; the parts it fans out (one
concession to price each) did not, and a part that killed its worker every time was
delivered again without end. Parts left by a running job start at 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_parts") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("job_parts") as batch:
        batch.drop_column("attempts")
