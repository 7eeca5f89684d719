"""Step 4: the verification suite, run on source and target and compared probe by probe.

`run_suite` works on plain settings and reports progress through a callback, so the Celery task
(progress stored in the migration for the live progress bar) and `manage.py migrate_provider`
share it.
"""
from providers.migration.comparison import BLOCKING, compare
from providers.migration.probes import LABELS, PROBES, run_probe

DEFAULT_MODEL = "haiku"


def total_steps():
    return len(PROBES) * 2


def run_suite(source, target, model=DEFAULT_MODEL, progress=None):
    """{"probes": [...], "passed": bool, "failures": [...]} for source and target ProviderSettings."""
    rows, done = [], 0
    for name, label, _ in PROBES:
        observed = {}
        for side, settings in (("source", source), ("target", target)):
            observed[side] = run_probe(name, settings, model)
            done += 1
            if progress:
                progress(done, f"{label} on {settings.name}")
        rows.append({"name": name, "label": label, "source": observed["source"], "target": observed["target"],
                     **compare(name, observed["source"], observed["target"])})
    return summarize(rows, model)


def summarize(rows, model):
    failures = [{"probe": row["name"], "label": row["label"], "reason": row["reason"]}
                for row in rows if row["outcome"] in BLOCKING]
    return {"model": model, "probes": rows, "passed": not failures, "failures": failures}


def unacknowledged(result, acknowledged):
    """Failures no one has accepted with a note."""
    accepted = {item.get("probe") for item in acknowledged or []}
    return [f for f in (result or {}).get("failures", []) if f["probe"] not in accepted]


def label(name):
    return LABELS.get(name, name)
