"""Versions made by edits store the edits, not a copy; who, why and how; forks.

A version made by edits (or by incident reports) keeps its edit list and the version
it applies to instead of a whole document and columns; reading it replays them. Its size
and digest are taken when its document is first read. Every
version says how it was made (``kind``), by whom (``author``, the token's name) and why
(``reason``). A scenario made as a what-if names the scenario and version it was forked
from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scenario_versions") as batch:
        batch.alter_column("document", existing_type=sa.LargeBinary(), nullable=True)
        batch.alter_column("size_bytes", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("kind", sa.String(20), nullable=True))
        batch.add_column(sa.Column("author", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edits", sa.JSON(), nullable=True))
    with op.batch_alter_table("scenarios") as batch:
        batch.add_column(sa.Column("forked_from_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("forked_from_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("forked_from_version")
        batch.drop_column("forked_from_id")
    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_column("edits")
        batch.drop_column("base_version")
        batch.drop_column("reason")
        batch.drop_column("author")
        batch.drop_column("kind")
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=False)
        batch.alter_column("size_bytes", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("document", existing_type=sa.LargeBinary(), nullable=False)
