"""The usage app's side of the choke point: turns a CallRecord into a usage row.

Registered with providers.call_records.set_usage_sink in UsageConfig.ready, so the
providers app never imports usage.
"""
from usage.services import record_usage


def record_call(record):
    """Store `record`; returns its cost in USD (None when the model has no price)."""
    context = record.context
    row = record_usage(
        provider_name=record.provider_name, provider_kind=record.provider_kind, model_id=record.model_id,
        logical_model=record.logical_model, usage=record.usage, status=record.status, purpose=context.purpose,
        latency_ms=record.latency_ms, ttft_ms=record.ttft_ms, gateway_key=context.gateway_key, agent=context.agent,
        stream=record.stream, has_tools=record.has_tools, region=record.region, request_id=record.request_id,
        prompt_prefix_hash=record.prompt_prefix_hash, inference_geo=record.inference_geo,
        batch=getattr(record, "batch", False), profile_target=getattr(record, "profile_target", None),
        adaptations=getattr(record, "adaptations", ()),
        response_cache_saving=getattr(record, "response_cache_saving", None),
    )
    return row.cost_total
