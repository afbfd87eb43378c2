"""On PostgreSQL, every change of a job's row notifies the channel ``safe_passage_jobs``.

Requests that wait on a job (``GET /v1/jobs/{id}`` with ``Prefer: wait=N``, the event
stream) listen on that channel and read the job again at once instead of every half second,
whichever replica or worker changed it (app.services.job_news). SQLite has no notifications:
nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from alembic import op

from app.storage.jobs import JOB_CHANNEL

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION safe_passage_job_changed() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{JOB_CHANNEL}', NEW.id);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_notify AFTER UPDATE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION safe_passage_job_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER jobs_notify ON jobs")
    op.execute("DROP FUNCTION safe_passage_job_changed()")
