"""Jobs: long computations (plans, concession rankings, fleet sizing) run by workers.

A job records what was asked (the request and the scenario version it answers), its state
(queued, running, done, failed, cancelled), how far it is (phase, done of total), and its
answer (compressed JSON) or problem document. ``Idempotency-Key`` is unique per token.
A ranking of concessions fans out one part per concession to price (``job_parts``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scenario_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("phase", sa.Text(), nullable=True),
        sa.Column("done", sa.Float(), nullable=True),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("parts_total", sa.Integer(), nullable=True),
        sa.Column("parts_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("problem", sa.JSON(), nullable=True),
        sa.Column("backend", sa.String(20), nullable=False),
    )
    op.create_index("ix_jobs_scenario", "jobs", ["scenario_id"])
    op.create_index("ix_jobs_idempotency", "jobs", ["token_id", "idempotency_key"], unique=True)
    op.create_table(
        "job_parts",
        sa.Column(
            "job_id",
            sa.String(40),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("index", sa.Integer(), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_parts")
    op.drop_index("ix_jobs_idempotency", table_name="jobs")
    op.drop_index("ix_jobs_scenario", table_name="jobs")
    op.drop_table("jobs")
