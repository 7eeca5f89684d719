"""Benchmark: a response cache hit through the gateway (/v1/messages) against the fake's own round trip.

    .venv/bin/python bench/gateway_cache.py                    # 400 requests per case
    .venv/bin/python bench/gateway_cache.py --requests 1000 --concurrency 1,16

Reuses bench/gateway.py's set-up: the fakes in their own process, both providers stored in its own
database (Anthropic active), the project's ASGI app under uvicorn (one worker, uvloop, httptools) and
the same closed-loop raw HTTP/1.1 driver. The gateway key has the response cache policy "use", so after
the first request every request is a hit: authentication from the key table, normalization and hash,
the entry from this process's memory or Redis, buffered hit counters, one usage record (cache_hit)
and the stored message written as JSON or as the SSE event sequence; no upstream call.
It prints, for create and stream at each concurrency, the direct round trip to the fake and the hit
through the gateway (p50, p99, requests/s) with the same raw client, and their ratio; then, at one client,
the issue's reference, a reused bare SDK call to the fake (anthropic.Anthropic, retries off), against the
hit measured with the raw client and with that same SDK client (whose own overhead the hit then carries).
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import gateway as gateway_bench  # noqa: E402 - bench/ is the script's folder
from dashboard import ensure_database, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/moments_gateway_cache_bench"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    os.environ["CACHE_URL"] = args.cache_url
    os.environ["FIELD_ENCRYPTION_KEY"] = gateway_bench.FERNET
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fakes = subprocess.Popen([sys.executable, gateway_bench.__file__, "--serve-fakes", "--database-url",
                              args.database_url, "--cache-url", args.cache_url],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    urls = json.loads(fakes.stdout.readline())
    gateway_bench.store_providers(urls, "anthropic")
    from providers import response_cache
    from providers.client_pool import client_for
    from providers.gateway.services import create_key
    from providers.models import GatewayKey
    from providers.snapshot import active_chain

    response_cache.invalidate_all()
    GatewayKey.objects.filter(label="bench-cache").delete()
    key = create_key("bench-cache", response_cache="use")[1]
    env = {**os.environ, "DATABASE_URL": args.database_url, "USAGE_WRITE_BUFFER": "1", "DEBUG": "0"}
    server, url = gateway_bench.start_uvicorn("moments_admin.asgi:application", env)
    rows = []
    try:
        model_id = client_for(active_chain()[0]).resolve_model("haiku")
        for stream in (False, True):
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                targets = {"direct": gateway_bench.anthropic_target(urls["anthropic"], gateway_bench.ANTHROPIC_KEY,
                                                                    stream, model_id),
                           "gateway hit": gateway_bench.anthropic_target(url, key, stream)}
                results = {}
                for name, target in targets.items():
                    print(f"{'stream' if stream else 'create'} c={concurrency} {name}", file=sys.stderr)
                    results[name] = asyncio.run(gateway_bench.run_case(target, concurrency, args.requests))
                if concurrency == 1:  # the reference: a reused bare SDK call to the fake
                    results["bare sdk"] = sdk_case(urls["anthropic"], gateway_bench.ANTHROPIC_KEY, model_id, stream,
                                                   args.requests)
                    results["sdk hit"] = sdk_case(url, key, "haiku", stream, args.requests, {"x-moments-cache": "use"})
                rows.append(("stream" if stream else "create", concurrency, results))
        memory = gateway_bench.rss_mb(server.pid)
    finally:
        server.terminate()
        fakes.stdin.close()
        fakes.wait(timeout=10)
        time.sleep(0.1)
    print(f"{args.requests} requests per case; times in ms; gateway resident memory {memory:.0f} MB\n")
    print("| call | concurrency | direct p50 | direct p99 | direct req/s | hit p50 | hit p99 | hit req/s | "
          "hit / direct p50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for call, concurrency, results in rows:
        direct, hit = results["direct"], results["gateway hit"]
        print(f"| {call} | {concurrency} | {direct['p50']:.2f} | {direct['p99']:.2f} | {direct['rps']:.0f} | "
              f"{hit['p50']:.2f} | {hit['p99']:.2f} | {hit['rps']:.0f} | {hit['p50'] / direct['p50']:.2f} |")
    print("\nAt 1 client, against a reused bare SDK call to the fake (anthropic.Anthropic, retries off):\n")
    print("| call | bare SDK to the fake p50 | hit p50 (raw HTTP client) | hit / bare SDK | "
          "hit p50 (the same SDK client) | SDK hit / bare SDK |")
    print("|---|---|---|---|---|---|")
    for call, concurrency, results in rows:
        if concurrency == 1:
            bare, hit, sdk_hit = results["bare sdk"], results["gateway hit"], results["sdk hit"]
            print(f"| {call} | {bare:.2f} | {hit['p50']:.2f} | {hit['p50'] / bare:.2f} | {sdk_hit:.2f} | "
                  f"{sdk_hit / bare:.2f} |")
    return 0


def sdk_case(base_url, key, model, stream, requests, headers=None):
    """p50 (ms) of a reused anthropic.Anthropic client's call to base_url: create, or a stream read to its end."""
    import statistics

    import anthropic

    client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=30)
    body = {**gateway_bench.BODY, "model": model}
    times = []
    for _ in range(requests + 20):
        started = time.perf_counter()
        if stream:
            with client.messages.stream(**body, extra_headers=headers) as events:
                for _event in events:
                    pass
        else:
            client.messages.create(**body, extra_headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    client.close()
    return statistics.median(times[20:])


if __name__ == "__main__":
    sys.exit(main())
