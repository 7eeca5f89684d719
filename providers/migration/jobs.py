"""The wizard's long steps as jobs: progress and result stored in the migration (the page polls them).

The Celery tasks call these with the migration's id; `queue` marks a job queued and hands it to
the task after the transaction commits.
"""
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from providers.migration import cost, performance, verification
from providers.migration.models import Migration
from providers.migration.providers_of import UnknownProvider, settings_named
from providers.migration.state import save_data

log = logging.getLogger(__name__)


def queue(migration, name, task, options, user):
    run = uuid.uuid4().hex
    total = verification.total_steps() if name == "verification" else 2 * options.get("requests", 1)
    save_data(migration.pk, name, {"state": "queued", "run": run, "done": 0, "total": total, "current": "",
                                   "result": None, "error": "", "options": options,
                                   "queued_at": timezone.now().isoformat()}, user)
    transaction.on_commit(lambda: task.delay(migration.pk, run))
    return run


def _progress(migration_id, name, run):
    def report(done, current):
        save_data(migration_id, name, {"state": "running", "done": done, "current": current}, run=run)
    return report


def _still_current(migration_id, name, run):
    row = Migration.objects.filter(pk=migration_id).first()
    return row is not None and (row.data.get(name) or {}).get("run") == run


def _run(migration_id, name, run, work):
    """Run `work(migration, options, progress)` for the current run of step `name`; store its result."""
    if not _still_current(migration_id, name, run):
        return "stale run"
    migration = Migration.objects.get(pk=migration_id)
    options = migration.step_data(name).get("options") or {}
    try:
        result = work(migration, options, _progress(migration_id, name, run))
    except UnknownProvider as error:
        save_data(migration_id, name, {"state": "error", "error": str(error)}, run=run)
        return str(error)
    except Exception as exc:  # the page must show that the run stopped, not poll forever
        log.exception("Migration #%s: the %s run failed", migration_id, name)
        save_data(migration_id, name, {"state": "error", "error": f"unexpected {type(exc).__name__}"}, run=run)
        return "error"
    save_data(migration_id, name, {"state": "done", "result": result, "finished_at": timezone.now().isoformat()},
              run=run)
    return "done"


def _verify(migration, options, progress):
    source, target = settings_named(migration.source), settings_named(migration.target)
    return verification.run_suite(source, target, options.get("model") or verification.DEFAULT_MODEL,
                                  progress=progress)


def _compare(migration, options, progress):
    source, target = settings_named(migration.source), settings_named(migration.target)
    result = performance.run_benchmark(source, target, options.get("model") or verification.DEFAULT_MODEL,
                                       options.get("requests") or performance.DEFAULT_REQUESTS, progress=progress)
    result["cost"] = cost.compare_cost(migration.source, target)
    return result


def run_verification(migration_id, run):
    return _run(migration_id, "verification", run, _verify)


def run_performance(migration_id, run):
    return _run(migration_id, "performance", run, _compare)
