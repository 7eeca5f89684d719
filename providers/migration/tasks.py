"""Celery tasks: thin, take the migration's id and the run they belong to."""
from celery import shared_task

from providers.migration import jobs, rollout


@shared_task(ignore_result=True)
def run_verification(migration_id, run):
    return jobs.run_verification(migration_id, run)


@shared_task(ignore_result=True)
def run_performance(migration_id, run):
    return jobs.run_performance(migration_id, run)


@shared_task(ignore_result=True)
def check_rollouts():
    """Beat runs this every few seconds: a rollout whose target fails too often stops by itself."""
    stopped = rollout.check()
    return "; ".join(stopped) or "nothing to stop"
