"""Step 7: the target becomes primary as one configuration revision; one click restores the one before.

What blocks a switch: a model the target cannot serve (step 3), a verification suite not run or
with failures nobody acknowledged (step 4). Each blocker says which step fixes it.
"""
from django.db import transaction

from providers.environment import EnvironmentError_, read_environment
from providers.migration.mapping import blocking
from providers.migration.state import WizardError, finish
from providers.migration.verification import unacknowledged
from providers.models import ROUTING_FIELDS, ConfigRevision, ProviderConfig, ProviderRouting
from providers.revisions import apply_snapshot, diff, record_revision, snapshot


def blockers(migration):
    data = migration.data
    out = []
    mapping = (data.get("mapping") or {}).get("result")
    if not mapping:
        out.append((3, "The model mapping has not been checked."))
    elif blocking(mapping):
        names = ", ".join(row["name"] for row in blocking(mapping))
        out.append((3, f"The target cannot serve: {names}. Fix the mapping in step 3."))
    result = (data.get("verification") or {}).get("result")
    if not result:
        out.append((4, "The verification suite has not run on this source and target."))
    else:
        for failure in unacknowledged(result, migration.acknowledged):
            out.append((4, f"Verification failed: {failure['label']}: {failure['reason']} "
                           "Fix it, run the suite again, or acknowledge it with a note."))
    return out


def switch(migration, user, *, keep_source_as_fallback=True):
    """Make the target primary (and the source its first fallback when asked) as one revision."""
    if migration.status != "in_progress":
        raise WizardError("This migration is not in progress.")
    found = blockers(migration)
    if found:
        raise WizardError("The switch is blocked: " + " ".join(text for _, text in found))
    with transaction.atomic():
        before = ConfigRevision.objects.order_by("-pk").first()
        if before is None or before.snapshot != snapshot():
            # The latest revision is not what is in force (or none exists): record it, to roll back to.
            before = record_revision(user, f"Before migration #{migration.pk}")
        ProviderConfig.objects.filter(name=migration.target).update(enabled=True)
        routing = ProviderRouting.load()
        after = switched_routing({name: getattr(routing, name) for name in ROUTING_FIELDS}, migration,
                                 keep_source_as_fallback)
        for name, value in after.items():
            setattr(routing, name, value)
        routing.save()
        fallback = f", {migration.source} as fallback" if keep_source_as_fallback else ""
        revision = record_revision(user, f"Migration #{migration.pk}: {migration.target} primary{fallback}")
        migration.before_revision, migration.switch_revision = before.pk, revision.pk
        migration.save(update_fields=["before_revision", "switch_revision", "updated_at"])
        finish(migration, "switched", user)
    return revision


def switched_routing(routing, migration, keep_source_as_fallback):
    """The routing values (ROUTING_FIELDS) after the switch."""
    others = [name for name in routing.get("fallbacks") or [] if name not in (migration.source, migration.target)]
    after = {**routing, "primary": migration.target, "rollout": {},  # a rollout ends with the switch
             "fallbacks": [migration.source, *others] if keep_source_as_fallback else others}
    here = _moments_env()
    environment_primary = routing.get("environment_primary") or {}
    if environment_primary.get(here) == migration.source:
        # This environment's own primary wins over `primary`: it moves too; other environments keep theirs.
        after["environment_primary"] = {**environment_primary, here: migration.target}
    return after


def preview(migration, keep_source_as_fallback=True):
    """Rows (setting, before, after) of what the switch would change, for the review before it."""
    before = snapshot()
    providers = [{**p, "enabled": True} if p["name"] == migration.target else p for p in before["providers"]]
    after = {"routing": switched_routing(before["routing"], migration, keep_source_as_fallback),
             "providers": providers}
    return diff(before, after)


def rollback(migration, user):
    """Restore the revision in force before the switch (itself a new revision)."""
    if migration.status != "switched" or not migration.before_revision:
        raise WizardError("Only a switched migration can be rolled back.")
    revision = ConfigRevision.objects.filter(pk=migration.before_revision).first()
    if revision is None:
        raise WizardError(f"Revision #{migration.before_revision} no longer exists; restore one on the "
                          "Revisions page instead.")
    snap = revision.snapshot
    if (snap.get("routing", {}).get("rollout") or {}).get("migration") == migration.pk:
        # Switched during a rollout: going back means all traffic to the source, not the rollout again.
        snap = {**snap, "routing": {**snap["routing"], "rollout": {}}}
    with transaction.atomic():
        apply_snapshot(snap)
        restored = record_revision(user, f"Migration #{migration.pk} rolled back: restored revision "
                                         f"#{revision.pk} ({revision.summary})")
        finish(migration, "rolled_back", user)
    return restored


def _moments_env():
    try:
        return read_environment().moments_env
    except EnvironmentError_:
        return None
