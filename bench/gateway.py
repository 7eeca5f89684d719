"""Benchmark: what the gateway (/v1/) adds to a model call, against direct calls and a bare proxy.

    .venv/bin/python bench/gateway.py                       # 400 requests per case
    .venv/bin/python bench/gateway.py --requests 1000 --database-url postgres://...

Starts the fake Anthropic and Bedrock servers (in their own process), stores both as providers
in its own database, creates a gateway key, and runs two servers under uvicorn (one worker each,
uvloop and httptools): the project's ASGI app (moments_admin.asgi: gateway on /v1/) and
bench/bare_proxy.py, a raw passthrough with a pooled async client. A closed-loop asyncio driver
on raw keep-alive HTTP/1.1 connections (one per concurrent client) then measures, in one run:
direct to the fake, through the bare proxy, through the gateway; with Anthropic active, then
Bedrock active (direct Bedrock requests are pre-signed with SigV4 by botocore); concurrency 1
and 16; non-streaming p50/p99 and requests/s, and, for Anthropic streams, time to the first
content delta. It prints a Markdown table and the gateway's resident memory.
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from dashboard import ensure_database, setup_django  # noqa: E402 - bench/ is the script's folder

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/moments_gateway_bench"
ANTHROPIC_KEY = "sk-ant-bench-key-0000-not-a-real-key"
AWS_KEY_ID, AWS_SECRET = "AKIABENCHEXAMPLE0001", "bench-secret-not-real"
FERNET = "7DPKOt9bzN4dhTLmyt1RD0VNJBs0Q1LEhdFnV6A8Eo4="  # bench only
BODY = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- Servers ----------------------------------------------------------------------------------
def serve_fakes():
    """Run in a child process: start both fakes, print their URLs, serve until stdin closes."""
    from providers.fakes import FakeAnthropic, FakeBedrock

    anthropic_fake = FakeAnthropic(api_keys={ANTHROPIC_KEY}).start()
    bedrock_fake = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}).start()
    print(json.dumps({"anthropic": anthropic_fake.url, "bedrock": bedrock_fake.url}), flush=True)
    sys.stdin.read()


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_uvicorn(app, env):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app} did not start")


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- Requests ---------------------------------------------------------------------------------
class Target:
    """A request the driver sends again and again: raw bytes for one keep-alive connection."""

    def __init__(self, url, path, headers, body):
        self.host, self.port = url.removeprefix("http://").split(":")
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.raw = "\r\n".join(head).encode() + body


def anthropic_target(url, key, stream=False, model="haiku"):
    body = json.dumps({**BODY, "model": model, "stream": stream}).encode()
    return Target(url, "/v1/messages", {"x-api-key": key, "content-type": "application/json",
                                        "anthropic-version": "2023-06-01"}, body)


def bedrock_target(url, model_id):
    """A SigV4-signed InvokeModel request (valid for the fake's 5-minute skew window)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({k: v for k, v in BODY.items() if k != "model"} | {
        "anthropic_version": "bedrock-2023-05-31"}).encode()
    path = f"/model/{model_id}/invoke"
    request = AWSRequest("POST", url + path, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials(AWS_KEY_ID, AWS_SECRET), "bedrock", "us-east-1").add_auth(request)
    quoted = request.url.removeprefix(url)
    return Target(url, quoted, dict(request.headers.items()), body)


async def one(reader, writer, target):
    """(total ms, ms to the first content delta or None, status)."""
    started = time.perf_counter()
    writer.write(target.raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    first_delta = None
    if b"content-length:" in lowered:
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    else:  # chunked
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if first_delta is None and b"content_block_delta" in chunk:
                first_delta = (time.perf_counter() - started) * 1000
            if size == 0:
                break
    return (time.perf_counter() - started) * 1000, first_delta, status


async def run_case(target, concurrency, requests):
    latencies, deltas, statuses = [], [], []
    remaining = [requests]

    async def client():
        reader, writer = await asyncio.open_connection(target.host, int(target.port))
        for _ in range(3):  # warm-up on this connection
            await one(reader, writer, target)
        await barrier.wait()
        while remaining[0] > 0:
            remaining[0] -= 1
            total, delta, status = await one(reader, writer, target)
            latencies.append(total)
            statuses.append(status)
            if delta is not None:
                deltas.append(delta)
        writer.close()

    barrier = asyncio.Barrier(concurrency + 1)
    tasks = [asyncio.ensure_future(client()) for _ in range(concurrency)]
    await barrier.wait()
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    bad = [s for s in statuses if s != 200]
    if bad:
        raise SystemExit(f"{len(bad)} requests failed (status {bad[0]})")
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 99), "rps": len(latencies) / wall,
            "ttft": statistics.median(deltas) if deltas else None}


# --- Setup and report -------------------------------------------------------------------------
def store_providers(urls, primary):
    from providers import crypto
    from providers.gateway.services import create_key
    from providers.models import GatewayKey, ProviderConfig, ProviderRouting

    ProviderConfig.objects.all().delete()
    GatewayKey.objects.filter(label="bench").delete()
    ProviderConfig.objects.create(name="anthropic", kind="anthropic", api_key_env="", base_url=urls["anthropic"],
                                  api_key_encrypted=crypto.encrypt(ANTHROPIC_KEY))
    ProviderConfig.objects.create(
        name="bedrock", kind="bedrock", aws_region="us-east-1", auth_mode="static_keys", aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key_encrypted=crypto.encrypt(AWS_SECRET), endpoint_url=urls["bedrock"],
        control_endpoint_url=urls["bedrock"], sts_endpoint_url=urls["bedrock"])
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": primary, "fallbacks": [],
                                                             "auto_fallback": False})
    return create_key("bench")[1]


def set_primary(primary):
    from providers.changes import update_routing

    update_routing(None, primary=primary, fallbacks=[], auto_fallback=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["CACHE_URL"] = args.cache_url
    os.environ["FIELD_ENCRYPTION_KEY"] = FERNET
    if args.serve_fakes:
        setup_django(args.database_url)
        return serve_fakes()
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fakes = subprocess.Popen([sys.executable, __file__, "--serve-fakes", "--database-url", args.database_url,
                              "--cache-url", args.cache_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    urls = json.loads(fakes.stdout.readline())
    key = store_providers(urls, "anthropic")
    env = {**os.environ, "DATABASE_URL": args.database_url, "USAGE_WRITE_BUFFER": "1", "DEBUG": "0"}
    gateway, gateway_url = start_uvicorn("moments_admin.asgi:application", env)
    proxies = {kind: start_uvicorn("bench.bare_proxy:app", {**env, "UPSTREAM": url}) for kind, url in urls.items()}
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    rows = []
    try:
        from providers.client_pool import client_for
        from providers.snapshot import active_chain

        for kind in ("anthropic", "bedrock"):
            set_primary(kind)
            time.sleep(1.2)  # every process sees the new configuration within a second
            streams = (False, True) if kind == "anthropic" else (False,)
            model_id = client_for(active_chain()[0]).resolve_model("haiku")
            for stream in streams:
                for concurrency in concurrencies:
                    if kind == "anthropic":
                        targets = {"direct": anthropic_target(urls["anthropic"], ANTHROPIC_KEY, stream, model_id),
                                   "bare proxy": anthropic_target(proxies[kind][1], ANTHROPIC_KEY, stream, model_id)}
                    else:
                        direct = bedrock_target(urls["bedrock"], model_id)
                        # The same signed bytes through the proxy (it sets Host to the fake's again).
                        via_proxy = bedrock_target(urls["bedrock"], model_id)
                        via_proxy.host, via_proxy.port = proxies[kind][1].removeprefix("http://").split(":")
                        targets = {"direct": direct, "bare proxy": via_proxy}
                    targets["gateway"] = anthropic_target(gateway_url, key, stream)
                    results = {}
                    for name, target in targets.items():
                        print(f"{kind} {'stream' if stream else 'create'} c={concurrency} {name}", file=sys.stderr)
                        results[name] = asyncio.run(run_case(target, concurrency, args.requests))
                    rows.append((kind, "stream" if stream else "create", concurrency, results))
        memory = rss_mb(gateway.pid)
    finally:
        for process in (gateway, *(p for p, _ in proxies.values())):
            process.terminate()
            process.wait(timeout=10)
        fakes.stdin.close()
        fakes.wait(timeout=10)
    report(rows, memory, args)
    return 0


def report(rows, memory, args):
    print(f"{args.requests} requests per case; times in ms; closed loop, one keep-alive connection per client\n")
    print("| provider | call | clients | direct p50 | direct p99 | direct req/s | bare proxy p50 | bare proxy req/s "
          "| gateway p50 | gateway p99 | gateway req/s | gateway adds p50 | gateway adds p99 | first delta added |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, call, concurrency, r in rows:
        d, b, g = r["direct"], r["bare proxy"], r["gateway"]
        ttft = f"{g['ttft'] - d['ttft']:+.2f}" if g["ttft"] is not None and d["ttft"] is not None else "n/a"
        print(f"| {kind} | {call} | {concurrency} | {d['p50']:.2f} | {d['p99']:.2f} | {d['rps']:.0f} | "
              f"{b['p50']:.2f} | {b['rps']:.0f} | {g['p50']:.2f} | {g['p99']:.2f} | {g['rps']:.0f} | "
              f"{g['p50'] - d['p50']:+.2f} | {g['p99'] - d['p99']:+.2f} | {ttft} |")
    print(f"\nGateway process resident memory after the run: {memory:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
