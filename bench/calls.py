"""Benchmark: what the choke point adds to a provider call.

    .venv/bin/python bench/calls.py                 # 400 calls per case
    .venv/bin/python bench/calls.py --calls 1000

For each provider (the project's fake Anthropic and Bedrock servers, started in process) and
for create and stream, it times a reused bare SDK client (`anthropic.Anthropic` /
`anthropic.AnthropicBedrock`, retries off) against `providers.calls.invoke` on the same
fake, call by call in alternation so that drift hits both alike. `invoke` does everything
it does in production: pooled client, request check, model resolution, breaker read and
update in Redis, one usage record through the usage sink (the write-behind buffer on
PostgreSQL). Floor: invoke adds at most 1 ms p50. Prints a Markdown table; exits 1 when
the floor is missed. Uses its own database (created if missing) and Redis db 15.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dashboard import ensure_database, setup_django  # noqa: E402 - bench/ is the script's folder

DEFAULT_URL = "postgres://root@127.0.0.1:5432/moments_bench_calls"
FLOOR_MS = 1.0
KEY = "sk-ant-bench-key-0000-not-a-real-key"
AWS_KEY_ID, AWS_SECRET = "AKIABENCHEXAMPLE0001", "bench-secret-not-real"
REQUEST = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(function):
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def alternate(first, second, calls, warmup=20):
    """Time `first` and `second` call by call in alternation (after `warmup` untimed rounds), so that
    load drift hits both alike. Returns (first_ms, second_ms)."""
    for _ in range(warmup):
        first()
        second()
    first_ms, second_ms = [], []
    for _ in range(calls):
        first_ms.append(timed(first))
        second_ms.append(timed(second))
    return first_ms, second_ms


def bare_clients(anthropic_fake, bedrock_fake):
    import anthropic

    return {
        "anthropic": anthropic.Anthropic(api_key=KEY, base_url=anthropic_fake.url, max_retries=0),
        "bedrock": anthropic.AnthropicBedrock(aws_access_key=AWS_KEY_ID, aws_secret_key=AWS_SECRET,
                                              aws_region="us-east-1", base_url=bedrock_fake.url, max_retries=0),
    }


def chains(anthropic_fake, bedrock_fake):
    from providers.clients.base import ProviderSettings

    return {
        "anthropic": [ProviderSettings(kind="anthropic", name="bench-anthropic", api_key=KEY,
                                       base_url=anthropic_fake.url)],
        "bedrock": [ProviderSettings(kind="bedrock", name="bench-bedrock", aws_region="us-east-1",
                                     auth_mode="static_keys", aws_access_key_id=AWS_KEY_ID,
                                     aws_secret_access_key=AWS_SECRET, endpoint_url=bedrock_fake.url,
                                     control_endpoint_url=bedrock_fake.url, sts_endpoint_url=bedrock_fake.url)],
    }


def run_case(bare, chain, model_id, stream, calls):
    from providers.call_records import CallContext
    from providers.calls import invoke

    context = CallContext(purpose="gateway", gateway_key="bench")
    body = {**REQUEST, "model": model_id}

    def bare_call():
        if stream:
            for _ in bare.messages.create(**body, stream=True):
                pass
        else:
            bare.messages.create(**body)

    def invoke_call():
        if stream:
            for _ in invoke(chain, REQUEST, context, stream=True):
                pass
        else:
            invoke(chain, REQUEST, context)

    return alternate(bare_call, invoke_call, calls)  # warm-up: connections, pooled clients, price book


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    os.environ["CACHE_URL"] = args.cache_url
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from providers.client_pool import client_for
    from providers.fakes import FakeAnthropic, FakeBedrock

    anthropic_fake = FakeAnthropic(api_keys={KEY}).start()
    bedrock_fake = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}).start()
    try:
        bare, chain = bare_clients(anthropic_fake, bedrock_fake), chains(anthropic_fake, bedrock_fake)
        rows, worst = [], 0.0
        for kind in ("anthropic", "bedrock"):
            model_id = client_for(chain[kind][0]).resolve_model("haiku")
            for stream in (False, True):
                bare_ms, invoke_ms = run_case(bare[kind], chain[kind], model_id, stream, args.calls)
                added = statistics.median(invoke_ms) - statistics.median(bare_ms)
                worst = max(worst, added)
                rows.append(f"| {kind} | {'stream' if stream else 'create'} | {statistics.median(bare_ms):.2f} | "
                            f"{percentile(bare_ms, 99):.2f} | {statistics.median(invoke_ms):.2f} | "
                            f"{percentile(invoke_ms, 99):.2f} | {added:+.2f} | "
                            f"{statistics.median(invoke_ms) / statistics.median(bare_ms):.2f}x |")
    finally:
        anthropic_fake.stop()
        bedrock_fake.stop()
    print(f"{args.calls} calls per case, alternating bare SDK client and invoke; times in ms\n")
    print("| provider | call | bare p50 | bare p99 | invoke p50 | invoke p99 | added p50 | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    verdict = "met" if worst <= FLOOR_MS else "MISSED"
    print(f"\nFloor (invoke adds <= {FLOOR_MS:.0f} ms p50): {verdict}; worst case adds {worst:.2f} ms.")
    return 0 if worst <= FLOOR_MS else 1


if __name__ == "__main__":
    sys.exit(main())
