"""Compare one probe's observation on the source and on the target.

Outcomes: "passed"; "failed" (blocks the switch: the target failed, answers in another shape or
stops for another reason, or does not account for cache tokens the source accounts for);
"capability" (a difference to know about that does not block: a feature one side lacks);
"source_failed" (the target passed, the source could not be compared).
"""


def compare(name, source, target):
    differences = []
    if not target.get("ok"):
        return _result("failed", f"The target failed: {target.get('error') or 'no answer'}", differences)
    if target.get("unsupported") or source.get("unsupported"):
        side = "target" if target.get("unsupported") else "source"
        text = target.get("unsupported") or source.get("unsupported")
        if target.get("unsupported") and not source.get("unsupported"):
            return _result("capability", f"Only the source offers this: {text}", differences)
        return _result("capability", f"Not offered on the {side}: {text}", differences)
    if not source.get("ok"):
        return _result("source_failed", f"The source failed ({source.get('error')}); the target passed.",
                       differences)
    if source.get("stop_reason") != target.get("stop_reason"):
        differences.append(f"stop reason {source.get('stop_reason')} on the source, "
                           f"{target.get('stop_reason')} on the target")
    if _shape(source) != _shape(target):
        differences.append(f"content blocks {_shape(source)} on the source, {_shape(target)} on the target")
    s_usage, t_usage = source.get("usage") or {}, target.get("usage") or {}
    for kind in ("cache_write", "cache_read"):
        if s_usage.get(kind) and not t_usage.get(kind):
            differences.append(f"the target reports no {kind.replace('_', ' ')} tokens")
    if s_usage and t_usage and (s_usage.get("output") and not t_usage.get("output")):
        differences.append("the target reports no output tokens")
    if differences:
        return _result("failed", "; ".join(differences).capitalize() + ".", differences)
    return _result("passed", "Same shape, stop reason and usage accounting.", differences)


def _shape(observed):
    """Block types, without repeats in a row (one text block or two is the same answer shape)."""
    shape = []
    for block in observed.get("blocks") or []:
        if not shape or shape[-1] != block:
            shape.append(block)
    return shape


def _result(outcome, reason, differences):
    return {"outcome": outcome, "reason": reason, "differences": differences}


BLOCKING = ("failed",)
