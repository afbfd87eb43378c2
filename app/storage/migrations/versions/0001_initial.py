"""Initial schema: scenarios, immutable versions, tokens, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "scenario_versions",
        sa.Column("scenario_id", sa.String(200), sa.ForeignKey("scenarios.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("edge_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("change", sa.String(200), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.String(64)),
        sa.Column("actor", sa.Text()),
        sa.Column("role", sa.String(20)),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("scenario_id", sa.String(200)),
        sa.Column("version", sa.Integer()),
        sa.Column("detail", sa.JSON()),
    )
    op.create_index("ix_audit_scenario", "audit_log", ["scenario_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_scenario", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("tokens")
    op.drop_table("scenario_versions")
    op.drop_table("scenarios")
