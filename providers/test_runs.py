"""The stored outcome of the last test connection run of each provider."""
from django.template.defaultfilters import pluralize
from django.utils import timezone

from providers.connection_test import next_step
from providers.models import ProviderConfig


def record_step(config_pk, run_id, result, config_fingerprint):
    """Append `result` to the stored last test of provider `config_pk` (a new run starts afresh)."""
    config = ProviderConfig.objects.filter(pk=config_pk).first()
    if config is None:
        return
    steps = list(config.last_test_steps) if config.last_test_run == run_id else []
    steps = [s for s in steps if s.get("step") != result.step] + [result.as_dict() | {"label": result.label}]
    finished = not result.ok or next_step(result.step) is None
    total = sum(s.get("elapsed_ms", 0) for s in steps) / 1000
    if not result.ok:
        summary = f"Failed at {result.label.lower()}: {result.summary}"[:500]
    elif finished:
        summary = f"Passed {len(steps)} check{pluralize(len(steps))} in {total:.1f} s"
    else:
        summary = f"Running: {result.label.lower()} passed"
    ProviderConfig.objects.filter(pk=config_pk).update(
        last_test_run=run_id, last_test_steps=steps, last_test_at=timezone.now(),
        last_test_ok=(result.ok if finished else None), last_test_summary=summary,
        last_test_fingerprint=config_fingerprint,
    )
