"""Large scenarios: compact columns beside the JSON document of a version.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scenario_versions") as batch:
        batch.add_column(sa.Column("arrays", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("arrays_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_column("arrays_bytes")
        batch.drop_column("arrays")
