"""Celery tasks: thin, take the migration's id and the run they belong to."""
from celery import shared_task

from providers.migration import jobs


@shared_task(ignore_result=True)
def run_verification(migration_id, run):
    return jobs.run_verification(migration_id, run)


@shared_task(ignore_result=True)
def run_performance(migration_id, run):
    return jobs.run_performance(migration_id, run)
