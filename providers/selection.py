"""Which providers serve traffic: the primary and ordered fallbacks, from the stored routing and the environment.

Every decision is logged with its reason (logger providers.selection): at INFO when
the outcome changes in this process, at DEBUG when it repeats.
"""
import logging
from dataclasses import dataclass

from providers.environment import PREFERRED_KIND, EnvironmentError_, read_environment
from providers.models import ProviderConfig, ProviderRouting

logger = logging.getLogger("providers.selection")


class SelectionError(Exception):
    """The environment or configuration names no usable provider."""


@dataclass
class Selection:
    environment: object
    primary: ProviderConfig | None
    fallbacks: list
    reasons: list


_last_logged = {}


def _chain_order(providers, routing):
    by_name = {p.name: p for p in providers}
    names = [routing.primary, *routing.fallbacks, *[p.name for p in providers]]
    seen, ordered = set(), []
    for name in names:
        if name in by_name and name not in seen:
            seen.add(name)
            ordered.append(by_name[name])
    return ordered


def select_providers(environ=None, *, log=True):
    """The primary and ordered fallbacks for this process's environment, with the reasons.

    Raises SelectionError when an env var is malformed or names nothing usable.
    """
    try:
        env = read_environment(environ)
    except EnvironmentError_ as exc:
        raise SelectionError(exc.message) from None
    routing = ProviderRouting.load()
    providers = list(ProviderConfig.objects.all())
    ordered = _chain_order(providers, routing)
    forced_out = set(routing.forced_out or [])
    enabled = [p for p in ordered if p.enabled and p.name not in forced_out]
    by_name = {p.name: p for p in providers if p.name not in forced_out}
    reasons = [f"{name} skipped: forced out on the Status page" for name in sorted(forced_out)]

    def first_of(kind):
        return next((p for p in enabled if p.kind == kind), None)

    primary = None
    if env.provider_override:
        wanted = env.provider_override
        primary = by_name.get(wanted) or first_of(wanted)
        if primary is None or not primary.enabled:
            state = "is disabled" if primary else "names no provider (neither a name nor a kind)"
            raise SelectionError(f"MOMENTS_PROVIDER_OVERRIDE={wanted} {state}. Fix or unset it.")
        reasons.append(f"primary {primary.name}: forced by MOMENTS_PROVIDER_OVERRIDE={wanted}")
    if primary is None and routing.pinned_primary:
        pinned = by_name.get(routing.pinned_primary)
        if pinned is not None and pinned.enabled:
            primary = pinned
            reasons.append(f"primary {primary.name}: pinned on the Status page")
        else:
            reasons.append(f"pinned primary {routing.pinned_primary} is disabled, forced out or gone; ignored")
    configured = routing.environment_primary.get(env.moments_env) or routing.primary
    configured_source = (f"configured for MOMENTS_ENV={env.moments_env}"
                         if routing.environment_primary.get(env.moments_env) else "configured primary")
    if primary is None and env.use_bedrock:
        candidate = by_name.get(configured)
        if candidate is not None and candidate.enabled and candidate.kind == "bedrock":
            primary = candidate
        else:
            primary = first_of("bedrock")
        if primary is None:
            raise SelectionError("CLAUDE_CODE_USE_BEDROCK=1 but no Bedrock provider is enabled.")
        reasons.append(f"primary {primary.name}: CLAUDE_CODE_USE_BEDROCK=1 selects Bedrock")
    if primary is None and configured:
        candidate = by_name.get(configured)
        if candidate is not None and candidate.enabled:
            primary = candidate
            reasons.append(f"primary {primary.name}: {configured_source}")
        else:
            state = "is disabled" if candidate else "does not exist"
            reasons.append(f"{configured_source} {configured} {state}; choosing automatically")
    if primary is None:
        kind = PREFERRED_KIND[env.moments_env]
        primary = first_of(kind)
        if primary is not None:
            reasons.append(f"primary {primary.name}: MOMENTS_ENV={env.moments_env} prefers {kind}")
        elif enabled:
            primary = enabled[0]
            reasons.append(f"primary {primary.name}: MOMENTS_ENV={env.moments_env} prefers {kind}, "
                           f"but no {kind} provider is enabled")
        else:
            reasons.append("no provider is enabled")
    fallbacks = []
    if primary is not None:
        if not routing.auto_fallback:
            reasons.append("no fallbacks: auto_fallback is off")
        else:
            # A pinned primary puts the configured one first among the fallbacks.
            pinned_over = [routing.primary] if routing.pinned_primary and primary.name == routing.pinned_primary else []
            for name in dict.fromkeys([*pinned_over, *routing.fallbacks]):
                candidate = by_name.get(name)
                if candidate is None or candidate == primary:
                    continue
                if not candidate.enabled:
                    reasons.append(f"fallback {name} skipped: disabled")
                    continue
                fallbacks.append(candidate)
            if fallbacks:
                reasons.append("fallbacks in configured order: " + ", ".join(p.name for p in fallbacks))
            else:
                reasons.append("no fallbacks configured")
    selection = Selection(env, primary, fallbacks, reasons)
    if log:
        _log_selection(selection)
    return selection


def _log_selection(selection):
    decision = (selection.primary.name if selection.primary else None,
                tuple(p.name for p in selection.fallbacks))
    level = logging.INFO if _last_logged.get("decision") != decision else logging.DEBUG
    _last_logged["decision"] = decision
    for reason in selection.reasons:
        logger.log(level, "provider selection: %s", reason)
