"""Benchmark: a response cache hit through the in-process client against a bare SDK call.

    .venv/bin/python bench/client_cache.py              # 400 calls per case
    .venv/bin/python bench/client_cache.py --calls 1000

For each provider (the project's fake Anthropic and Bedrock servers, started in process) and
for create and stream, it times a reused bare SDK client (`anthropic.Anthropic` /
`anthropic.AnthropicBedrock`, retries off) calling the fake, against
`providers.client.Anthropic` answering the same request from the response cache
(`x-moments-cache: use`, stored by a first call), call by call in alternation. A hit does
what it does in production: request normalization and hash, generation tokens and the entry
read from Redis, hit counters in Redis, one usage record (status cache_hit) through the usage
sink, and the SDK's own Message (or event stream) built from the stored answer.
Floor: a hit costs less than a quarter of the fake's own round trip (p50). Prints a Markdown
table; exits 1 when the floor is missed. Uses its own database (created if missing) and a
Redis db of its own.
"""
import argparse
import logging
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from calls import AWS_KEY_ID, AWS_SECRET, KEY, alternate, bare_clients, chains, percentile  # noqa: E402
from dashboard import ensure_database, setup_django  # noqa: E402 - bench/ is the script's folder

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/moments_client_bench"
FLOOR_RATIO = 0.25
MESSAGES = [{"role": "user", "content": "echo: a cached answer of a few words"}]


def run_case(bare, ours, model_id, stream, calls):
    def bare_call():
        if stream:
            for _ in bare.messages.create(model=model_id, max_tokens=32, messages=MESSAGES, stream=True):
                pass
        else:
            bare.messages.create(model=model_id, max_tokens=32, messages=MESSAGES)

    def hit():
        if stream:
            for _ in ours.messages.create(model="haiku", max_tokens=32, messages=MESSAGES, stream=True,
                                          extra_headers={"x-moments-cache": "use"}):
                pass
        else:
            ours.messages.create(model="haiku", max_tokens=32, messages=MESSAGES,
                                 extra_headers={"x-moments-cache": "use"})

    return alternate(bare_call, hit, calls)  # the first hit() stores the answer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    os.environ["CACHE_URL"] = args.cache_url
    ensure_database(args.database_url)
    setup_django(args.database_url)
    # The SDK's HTTP client logs each request at INFO here; an application would not pay for that
    # on the bare side only, so both sides run without it.
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from providers import response_cache
    from providers.client import Anthropic
    from providers.client_pool import client_for
    from providers.fakes import FakeAnthropic, FakeBedrock

    anthropic_fake = FakeAnthropic(api_keys={KEY}).start()
    bedrock_fake = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}).start()
    try:
        response_cache.invalidate_all()
        bare, chain = bare_clients(anthropic_fake, bedrock_fake), chains(anthropic_fake, bedrock_fake)
        rows, worst = [], 0.0
        for kind in ("anthropic", "bedrock"):
            model_id = client_for(chain[kind][0]).resolve_model("haiku")
            ours = Anthropic(chain=chain[kind], agent=f"bench-{kind}")
            for stream in (False, True):
                bare_ms, hit_ms = run_case(bare[kind], ours, model_id, stream, args.calls)
                ratio = statistics.median(hit_ms) / statistics.median(bare_ms)
                worst = max(worst, ratio)
                rows.append(f"| {kind} | {'stream' if stream else 'create'} | {statistics.median(bare_ms):.2f} | "
                            f"{percentile(bare_ms, 99):.2f} | {statistics.median(hit_ms):.2f} | "
                            f"{percentile(hit_ms, 99):.2f} | {ratio:.2f} |")
    finally:
        anthropic_fake.stop()
        bedrock_fake.stop()
    print(f"{args.calls} calls per case, alternating a bare SDK call to the fake and a cache hit; times in ms\n")
    print("| provider | call | bare SDK p50 | bare SDK p99 | cache hit p50 | cache hit p99 | hit / bare |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    met = worst < FLOOR_RATIO
    print(f"\nFloor (a hit costs < {FLOOR_RATIO:.2f} of the fake's round trip, p50): {'met' if met else 'MISSED'}; "
          f"worst ratio {worst:.2f}.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
