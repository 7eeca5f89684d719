"""Steps 3 to 5 without the browser (manage.py migrate_provider): one report, text or JSON."""
from django.template.defaultfilters import pluralize

from providers.migration import cost, mapping, performance, verification
from providers.migration.providers_of import settings_named
from usage.templatetags.humanize_usage import usd, usd_signed


def headless(source_name, target_name, *, model=verification.DEFAULT_MODEL, requests=performance.DEFAULT_REQUESTS,
             progress=None):
    source, target = settings_named(source_name), settings_named(target_name)
    mapping_result = mapping.check(source, target)
    suite = verification.run_suite(source, target, model, progress=progress)
    bench = performance.run_benchmark(source, target, model, requests) if requests else None
    costs = cost.compare_cost(source_name, target)
    problems = [f"mapping: {row['name']}: {row['problem']}" for row in mapping.blocking(mapping_result)]
    problems += [f"verification: {f['label']}: {f['reason']}" for f in suite["failures"]]
    return {"source": source_name, "target": target_name, "model": model, "passed": not problems,
            "problems": problems, "mapping": mapping_result, "verification": suite, "performance": bench,
            "cost": costs}


def as_text(report):
    lines = [f"Migration check: {report['source']} -> {report['target']} (model {report['model']})", "",
             "Model mapping:"]
    for row in report["mapping"]["rows"]:
        flag = "FAIL" if row["blocking"] else ("warn" if row["problem"] else "ok")
        lines.append(f"  [{flag}] {row['name']}: {row['source_id'] or '-'} -> {row['target_id'] or '-'}"
                     + (f"  ({row['problem']} {row['fix']})".rstrip() if row["problem"] else ""))
    lines += ["", "Verification suite:"]
    for probe in report["verification"]["probes"]:
        lines.append(f"  [{probe['outcome']}] {probe['label']}: {probe['reason']}")
    bench = report["performance"]
    if bench:
        lines += ["", f"Performance ({bench['requests']} request{pluralize(bench['requests'])} each):"]
        for side in ("source", "target"):
            s = bench[side]
            lines.append(f"  {side} {s['name']}: p50 {s['latency_p50']} ms, p95 {s['latency_p95']} ms, "
                         f"first token p50 {s['ttft_p50']} ms, {s['tokens_per_second']} tokens/s, "
                         f"{s['errors']} error{pluralize(s['errors'])}")
    c = report["cost"]
    lines += ["", f"Cost of the last {c['days']} day{pluralize(c['days'])} of {c['source']}'s traffic: "
              f"{usd(c['source_cost'])} recorded, {usd(c['target_cost'])} on {c['target']} "
              f"(difference {usd_signed(c['difference'])})"
              + ("" if c["complete"] else f"; no target price for {', '.join(c['missing'])}")]
    lines += ["", "PASSED" if report["passed"] else "FAILED:"]
    lines += [f"  {problem}" for problem in report["problems"]]
    return "\n".join(lines)
