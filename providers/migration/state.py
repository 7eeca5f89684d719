"""Starting, moving through and saving a migration: every change in one short transaction."""
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.migration.models import Migration
from providers.migration.providers_of import config_named
from providers.migration.steps import LAST

TARGET_KINDS = {"to_bedrock": ("anthropic", "bedrock"), "to_anthropic": ("bedrock", "anthropic"),
                "bedrock_region": ("bedrock", "bedrock")}


class WizardError(ValueError):
    """Something the operator can fix; the message says what."""


def current():
    return Migration.objects.filter(status="in_progress").first()


def _who(user):
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else "command line"


def check_direction(direction, source, target):
    if direction not in TARGET_KINDS:
        raise WizardError("Choose a direction.")
    if source == target:
        raise WizardError("The target must be another provider than the source.")
    source_kind, target_kind = TARGET_KINDS[direction]
    for role, name, kind in (("source", source, source_kind), ("target", target, target_kind)):
        config = config_named(name)
        if config.kind != kind:
            raise WizardError(f"The {role} {name} is a {config.kind} provider; this direction needs {kind}.")


def start(direction, source, target, user):
    check_direction(direction, source, target)
    try:
        with transaction.atomic():
            return Migration.objects.create(direction=direction, source=source, target=target, step=2,
                                            started_by=user if getattr(user, "is_authenticated", False) else None,
                                            updated_by=_who(user))
    except IntegrityError:
        running = current()
        raise WizardError(f"Migration #{running.pk if running else '?'} is already in progress: resume it, or "
                          "cancel it first (one migration at a time).") from None


def change_direction(migration, direction, source, target, user):
    """Step 1 again: a new source or target makes the later steps' results stale."""
    check_direction(direction, source, target)
    with transaction.atomic():
        row = Migration.objects.select_for_update().get(pk=migration.pk)
        if (row.source, row.target) != (source, target):
            row.data = {}
            row.acknowledged = []
        row.direction, row.source, row.target, row.step, row.updated_by = direction, source, target, 2, _who(user)
        row.save()
    return row


def go_to(migration, step, user):
    step = max(1, min(LAST, int(step)))
    Migration.objects.filter(pk=migration.pk).update(step=step, updated_by=_who(user), updated_at=timezone.now())
    migration.step = step
    return migration


def save_data(migration_id, name, values, user=None, *, run=None):
    """Merge `values` into the step data `name` (atomic: a task and a page may write at once). With
    `run`, only while that run is the step's current one (a run started again supersedes it)."""
    with transaction.atomic():
        row = Migration.objects.select_for_update().get(pk=migration_id)
        if run is not None and (row.data.get(name) or {}).get("run") != run:
            return row
        data = dict(row.data)
        data[name] = {**(data.get(name) or {}), **values}
        row.data = data
        if user is not None:
            row.updated_by = _who(user)
        row.save(update_fields=["data", "updated_by", "updated_at"])
    return row


def acknowledge(migration, probe, note, user):
    note = (note or "").strip()
    if len(note) < 5:
        raise WizardError("Write a note (at least 5 characters) saying why this failure is acceptable.")
    with transaction.atomic():
        row = Migration.objects.select_for_update().get(pk=migration.pk)
        kept = [item for item in row.acknowledged if item.get("probe") != probe]
        row.acknowledged = [*kept, {"probe": probe, "note": note[:1000], "user": _who(user),
                                    "at": timezone.now().isoformat()}]
        row.updated_by = _who(user)
        row.save()
    return row


def finish(migration, status, user):
    Migration.objects.filter(pk=migration.pk).update(status=status, updated_by=_who(user), updated_at=timezone.now())
    migration.status = status


def acknowledged_reset(migration, user):
    """A new verification run: acknowledgements were for the old results."""
    Migration.objects.filter(pk=migration.pk).update(acknowledged=[], updated_by=_who(user),
                                                     updated_at=timezone.now())
    migration.acknowledged = []
