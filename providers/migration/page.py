"""What each step's page shows, built from the stored migration (the views stay thin)."""
from providers.kinds import form_class
from providers.migration import charts, checklist, credentials, rollout, switch
from providers.migration.forms import AcknowledgeForm, DirectionForm, RolloutForm, RunForm, SwitchForm
from providers.migration.models import Migration
from providers.migration.providers_of import UnknownProvider, config_named, resolved_named
from providers.migration.steps import LAST, NAMES, progress
from providers.models import ConfigRevision, ProviderConfig
from providers.revisions import diff

KIND_DIRECTION = {"bedrock": "to_bedrock", "anthropic": "to_anthropic"}


def context(migration, **extra):
    failed = {step for step, _ in switch.blockers(migration)} if migration and migration.status == "in_progress" else ()
    ctx = {"migration": migration, "steps": progress(migration.step if migration else 1, failed), "last_step": LAST,
           "history": Migration.objects.exclude(pk=getattr(migration, "pk", None))[:10]}
    step_name = NAMES[migration.step] if migration else "direction"
    ctx["step_name"] = step_name
    ctx["step_template"] = f"migration/step_{step_name}.html"
    providers = list(ProviderConfig.objects.all())
    preselect = extra.pop("preselect", "")
    if migration is None or step_name == "direction":
        initial = ({"direction": migration.direction, "source": migration.source, "target": migration.target}
                   if migration else {})
        chosen = next((p for p in providers if p.name == preselect), None)
        if chosen is not None:  # a provider just created for the wizard (?target=NAME): the target
            initial["target"] = chosen.name
            initial.setdefault("direction", KIND_DIRECTION.get(chosen.kind))
        ctx["direction_form"] = extra.pop("direction_form", None) or DirectionForm(providers=providers,
                                                                                     initial=initial)
    if migration is not None:
        try:
            _fill(ctx, migration, step_name)
        except UnknownProvider as error:
            ctx["provider_error"] = str(error)
    ctx.update(extra)
    return ctx


def _fill(ctx, migration, step_name):
    ctx["source_config"], ctx["target_config"] = config_named(migration.source), config_named(migration.target)
    data = migration.data
    if step_name == "credentials":
        ctx["guide"] = credentials.guide(resolved_named(migration.target).settings)
        form_cls = form_class(ctx["target_config"].kind)
        # The stored values as hidden fields, so test connection runs inline (stored secrets stay server-side).
        ctx["provider_form"] = form_cls(instance=ctx["target_config"]) if form_cls else None
    elif step_name == "mapping":
        ctx["mapping"] = (data.get("mapping") or {}).get("result")
    elif step_name in ("verification", "performance"):
        job = data.get(step_name) or {}
        ctx["job"], ctx["job_name"] = job, step_name
        ctx["run_form"] = RunForm(initial=job.get("options") or None)
        ctx["acknowledge_form"] = AcknowledgeForm()
        result = job.get("result") or {}
        acknowledged = {item["probe"]: item for item in migration.acknowledged}
        ctx["probe_rows"] = [{**row, "ack": acknowledged.get(row["name"])} for row in result.get("probes") or []]
        if step_name == "performance" and result:
            ctx["perf_sides"] = [{"role": side, **(result.get(side) or {})} for side in ("source", "target")]
            ctx["latency_figure"], ctx["cost_figure"] = charts.latency(result), charts.cost(result.get("cost"))
    elif step_name == "checklist":
        ctx["items"], ctx["claude_code"] = checklist.items(migration, ctx["target_config"],
                                                           resolved_named(migration.target))
    elif step_name == "switch":
        ctx["blockers"] = switch.blockers(migration) if migration.status == "in_progress" else []
        ctx["switch_form"] = SwitchForm(initial={"keep_source_as_fallback": True})
        ctx["switch_revision"] = ConfigRevision.objects.filter(pk=migration.switch_revision).first()
        ctx["before_revision"] = ConfigRevision.objects.filter(pk=migration.before_revision).first()
        if migration.status == "in_progress":
            ctx["changes"] = switch.preview(migration)
        elif ctx["before_revision"] and ctx["switch_revision"]:
            ctx["changes"] = diff(ctx["before_revision"].snapshot, ctx["switch_revision"].snapshot)
        ctx.update(rollout_context(migration))
        ctx["rollout_form"] = RolloutForm(initial={"threshold": rollout.DEFAULT_THRESHOLD})
        ctx["percents"] = rollout.PERCENTS


def rollout_context(migration):
    running = rollout.active(migration) if migration.status == "in_progress" else None
    return {"migration": migration, "rollout": running, "rollout_data": migration.step_data("rollout"),
            "side_by_side": rollout.side_by_side(migration) if running else None}
