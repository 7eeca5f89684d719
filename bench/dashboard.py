"""Benchmark: load N usage records into PostgreSQL, time the dashboard and the ingestion rate.

    .venv/bin/python bench/dashboard.py                      # 10,000,000 records (the floor's size)
    .venv/bin/python bench/dashboard.py --records 1000000
    .venv/bin/python bench/dashboard.py --skip-load          # measure again on the data already loaded
    .venv/bin/python bench/dashboard.py --records 100000 --skip-views   # ingestion only

It uses its own database (default postgres://root@127.0.0.1:5432/moments_bench,
created if missing; --database-url to change), loads the records with COPY
(spread over the last --days days, realistic mix of providers, models, 500
keys and 25 agents), rolls them up, then measures the server time of the
dashboard (Django test client, in process: middleware, view, queries and
template) for the 90-day and 1-day views, and the rate of record_usage calls
(one process, then several) in each write mode: one INSERT per call, the
in-process write-behind buffer, and the Redis stream (--redis-url; its drain
into PostgreSQL is timed too). Floors: <= 300 ms at 10M records, >= 5,000
records/s. Prints a Markdown report; exits 1 when a floor is missed.
"""
import argparse
import datetime
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://root@127.0.0.1:5432/moments_bench"
FLOOR_MS, FLOOR_RATE = 300.0, 5000.0


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "7DPKOt9bzN4dhTLmyt1RD0VNJBs0Q1LEhdFnV6A8Eo4=")  # bench only
    os.environ["DEBUG"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "moments_admin.settings"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()


def ensure_database(database_url):
    import psycopg
    from psycopg import sql

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Synthetic traffic -------------------------------------------------------------------------
ROUTES = [  # provider name, kind, model ID, share
    ("anthropic-prod", "anthropic", "claude-sonnet-4-5-20250929", 30),
    ("anthropic-prod", "anthropic", "claude-haiku-4-5-20251001", 18),
    ("anthropic-prod", "anthropic", "claude-opus-4-5-20251101", 4),
    ("anthropic-prod", "anthropic", "claude-sonnet-4-20250514", 3),
    ("bedrock-us-east-1", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 20),
    ("bedrock-us-east-1", "bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0", 10),
    ("bedrock-us-east-1", "bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", 5),
    ("bedrock-eu", "bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", 9),
    ("anthropic-prod", "anthropic", "claude-experimental-9", 1),  # no price: flagged unpriced
]
KEYS = [f"key-{number:04d}" for number in range(500)]
AGENTS = [f"agent-{number:02d}" for number in range(25)]
COLUMNS = ("occurred_at", "provider_name", "provider_kind", "model_id", "base_model", "scope", "logical_model",
           "purpose", "status", "gateway_key", "agent", "region", "request_id", "prompt_prefix_hash", "batch",
           "stream", "has_tools", "long_context", "is_demo", "latency_ms", "ttft_ms", "input_tokens",
           "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "price_id",
           "cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cost_total", "cache_savings")


def synthetic_call(rng):
    """Keyword arguments for record_usage: one plausible call."""
    from providers.clients.usage import Usage

    provider, kind, model_id, _ = rng.choices(ROUTES, weights=[route[3] for route in ROUTES])[0]
    key_index = rng.randrange(len(KEYS))
    failed = rng.random() < 0.03
    prompt = int(rng.lognormvariate(7.6, 1.0))
    if rng.random() < 0.003:
        prompt = rng.randint(200_001, 400_000)  # long context
    cached = rng.random() < 0.4
    usage = Usage() if failed else Usage(
        input_tokens=prompt if not cached else prompt // 5,
        output_tokens=max(1, int(rng.lognormvariate(5.8, 1.0))),
        cache_write_5m_tokens=(prompt * 4 // 5) if cached and rng.random() < 0.2 else 0,
        cache_write_1h_tokens=(prompt * 4 // 5) if cached and rng.random() < 0.03 else 0,
        cache_read_tokens=(prompt * 4 // 5) if cached and rng.random() >= 0.2 else 0)
    latency = rng.lognormvariate(6.9, 0.6)
    stream = rng.random() < 0.6
    return {"provider_name": provider, "provider_kind": kind, "model_id": model_id, "logical_model": "sonnet",
            "usage": usage, "status": rng.choice(["rate_limited", "overloaded", "timeout"]) if failed else "ok",
            "purpose": rng.choices(["gateway", "health", "test"], weights=[97, 2, 1])[0],
            "latency_ms": round(latency, 1), "ttft_ms": round(latency * 0.3, 1) if stream else None,
            "gateway_key": KEYS[key_index], "agent": AGENTS[key_index % len(AGENTS)],
            "batch": rng.random() < 0.08, "stream": stream, "has_tools": rng.random() < 0.3,
            "region": "us-east-1" if kind == "bedrock" else "", "request_id": "",
            "prompt_prefix_hash": f"prefix-{rng.randrange(2000)}" if rng.random() < 0.5 else ""}


def template_lines(count, seed):
    """COPY text for `count` distinct calls priced by the real calculator, without occurred_at."""
    from usage.models import UsageRecord
    from usage.pricing import price_book

    book, rng, lines = price_book(), random.Random(seed), []
    when = datetime.datetime.now(datetime.UTC)
    for _ in range(count):
        call = synthetic_call(rng)
        usage = call.pop("usage")
        # Build the row exactly as record_usage would, without saving it.
        row = _unsaved_record(call, usage, book, when)
        values = [getattr(row, name) for name in COLUMNS[1:]]
        lines.append("\t".join(_copy_text(value) for value in values))
    assert UsageRecord  # the model module is loaded
    return lines


def _unsaved_record(call, usage, book, when):
    from usage.models import UsageRecord
    from usage.pricing import compute_cost

    parsed = book.parse(call["provider_kind"], call["model_id"])
    price = book.price_for(call["provider_kind"], parsed.base_model, parsed.scope, when) if parsed else None
    cost = compute_cost(price, usage, batch=call["batch"]) if price else None
    row = UsageRecord(**{key: value for key, value in call.items()}, is_demo=False,
                      base_model=parsed.base_model if parsed else call["model_id"], scope=parsed.scope if parsed else "",
                      long_context=bool(cost and cost.long_context), price=price,
                      input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                      cache_write_5m_tokens=usage.cache_write_5m_tokens,
                      cache_write_1h_tokens=usage.cache_write_1h_tokens, cache_read_tokens=usage.cache_read_tokens)
    if cost:
        row.cost_input, row.cost_output, row.cost_cache_write = cost.input, cost.output, cost.cache_write
        row.cost_cache_read, row.cost_total, row.cache_savings = cost.cache_read, cost.total, cost.cache_savings
    return row


def _copy_text(value):
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def load(records, days, seed):
    """TRUNCATE the usage tables and COPY `records` rows spread evenly over the last `days` days."""
    from django.db import connection

    from usage.models import RollupState, UsageRecord
    from usage.rollups import ROLLUP_MODELS

    tables = [model._meta.db_table for model in (UsageRecord, RollupState, *ROLLUP_MODELS)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    templates = template_lines(4096, seed)
    rng = random.Random(seed + 1)
    end = datetime.datetime.now(datetime.UTC)
    start = end - datetime.timedelta(days=days)
    step = (end - start).total_seconds() / records
    start_epoch = start.timestamp()
    started = time.perf_counter()
    raw = connection.connection  # the psycopg connection under Django's
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {UsageRecord._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            batch = []
            pick = rng.getrandbits
            for index in range(records):
                moment = datetime.datetime.fromtimestamp(start_epoch + index * step, datetime.UTC)
                batch.append(f"{moment.isoformat()}\t{templates[pick(12)]}\n")
                if len(batch) == 50_000:
                    copy.write("".join(batch))
                    batch = []
            if batch:
                copy.write("".join(batch))
    raw.commit()
    return time.perf_counter() - started


def analyze():
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as admin:
        admin.execute("VACUUM ANALYZE")


# --- Measurements ------------------------------------------------------------------------------
def time_views(repeat):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    today = datetime.datetime.now(datetime.UTC).date()
    day90 = (today - datetime.timedelta(days=89)).isoformat()
    views = [
        ("90 days, by provider", {"start": day90, "end": today.isoformat()}, {}),
        ("90 days, by gateway key", {"start": day90, "end": today.isoformat(), "by": "key"}, {}),
        ("90 days, one model (htmx partial)", {"start": day90, "end": today.isoformat(),
                                               "model": "claude-sonnet-4-5"}, {"HTTP_HX_REQUEST": "true"}),
        ("90 days, one gateway key", {"start": day90, "end": today.isoformat(), "key": "key-0042"}, {}),
        ("1 day (hourly), by provider", {"start": today.isoformat(), "end": today.isoformat()}, {}),
        ("1 day (hourly), by gateway key", {"start": today.isoformat(), "end": today.isoformat(), "by": "key"}, {}),
    ]
    results = []
    for label, query, headers in views:
        timings = []
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/usage/", query, **headers)
        assert response.status_code == 200, (label, response.status_code)
        query_count = len(queries.captured_queries)
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get("/usage/", query, **headers)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results.append({"view": label, "median": statistics.median(timings), "max": max(timings),
                        "queries": query_count})
    return results


MODES = {"direct": "one INSERT per call", "buffer": "in-process write-behind buffer", "redis": "Redis stream queue"}


def _use_mode(settings, mode, redis_url, stream):
    settings.USAGE_WRITE_BUFFER = mode != "direct"
    settings.USAGE_QUEUE_URL = redis_url if mode == "redis" else None
    settings.USAGE_QUEUE_STREAM = stream


def _ingest_worker(database_url, count, seed, mode, redis_url, stream, barrier, queue):
    setup_django(database_url)
    from django.conf import settings

    from usage.ingest import flush_usage_buffer
    from usage.services import record_usage

    _use_mode(settings, mode, redis_url, stream)
    rng = random.Random(seed)
    calls = [synthetic_call(rng) for _ in range(count + 1)]
    record_usage(**calls.pop())  # connect and load the price book outside the timing
    flush_usage_buffer()
    barrier.wait()  # every worker starts calling at the same moment
    started, cpu = time.time(), time.process_time()
    for call in calls:
        record_usage(**call)
    flush_usage_buffer()  # buffered rows count once they are committed
    # CPU time of this process per call (the flusher thread included): what load on the machine does not move.
    queue.put((count, started, time.time(), time.process_time() - cpu))


def ingest(database_url, total, workers, mode="direct", redis_url=None):
    """record_usage calls from `workers` processes at once (like gateway workers); records/s overall.
    In Redis mode the rows are then drained into the database by this process, timed apart."""
    from django.db import connections

    connections.close_all()
    stream = f"moments:usage:bench-{os.getpid()}"
    context = multiprocessing.get_context("fork")
    queue, barrier = context.Queue(), context.Barrier(workers)
    processes = [context.Process(target=_ingest_worker,
                                 args=(database_url, total // workers, 1000 + number, mode, redis_url, stream,
                                       barrier, queue))
                 for number in range(workers)]
    for process in processes:
        process.start()
    done = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    calls = sum(count for count, _, _, _ in done)
    seconds = max(end for _, _, end, _ in done) - min(start for _, start, _, _ in done)
    cpu_us = sum(cpu for _, _, _, cpu in done) / calls * 1e6
    run = {"workers": workers, "calls": calls, "rate": calls / seconds, "seconds": seconds, "mode": mode,
           "cpu_us": cpu_us}
    if mode == "redis":
        run["drain_rate"] = _drain(redis_url, stream)
    return run


def _drain(redis_url, stream):
    """Rows/s written from the stream into the database by one drainer (the worker's task)."""
    from django.conf import settings

    from usage.queue import usage_queue
    from usage.services import drain_queue

    _use_mode(settings, "redis", redis_url, stream)
    queue = usage_queue(settings)
    try:
        started, written = time.perf_counter(), 0
        while queue.length():
            written += drain_queue(queue, max_seconds=600)["written"]
        return written / (time.perf_counter() - started)
    finally:
        queue.client.delete(stream)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--skip-load", action="store_true", help="Measure the data already loaded.")
    parser.add_argument("--skip-views", action="store_true", help="Only measure ingestion.")
    parser.add_argument("--repeat", type=int, default=7, help="Timed requests per view (after one warm-up).")
    parser.add_argument("--ingest", type=int, default=20_000, help="record_usage calls per ingestion run.")
    parser.add_argument("--workers", default="1,4,8", help="Processes for the ingestion runs, comma separated.")
    parser.add_argument("--buffered-workers", default="1,4",
                        help="Processes for the runs with the in-process buffer ('' for none).")
    parser.add_argument("--queue-workers", default="1,4",
                        help="Processes for the runs with the Redis stream queue ('' for none).")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
                        help="Redis for the queue runs (a stream named moments:usage:bench-PID, deleted after).")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("The benchmark needs PostgreSQL (--database-url postgres://...).")

    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from usage.models import UsageRecord
    from usage.rollups import update_rollups

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    report = [f"# Dashboard benchmark ({datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC)", "",
              f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPUs, database "
              f"`{connection.settings_dict['NAME']}`", "",
              "Command: `" + " ".join([".venv/bin/python", "bench/dashboard.py", *sys.argv[1:]]) + "`", ""]
    if not args.skip_load:
        seconds = load(args.records, args.days, args.seed)
        report.append(f"- Loaded {args.records:,} records with COPY in {seconds:.1f} s "
                      f"({args.records / seconds:,.0f} rows/s)")
        started = time.perf_counter()
        summary = update_rollups(assume_settled=True, chunk=1_000_000)
        seconds = time.perf_counter() - started
        report.append(f"- Rolled up {summary['ids_rolled_up']:,} records in {seconds:.1f} s "
                      f"({summary['ids_rolled_up'] / seconds:,.0f} rows/s)")
        started = time.perf_counter()
        analyze()
        report.append(f"- VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    update_rollups(assume_settled=True)  # measure the steady state: everything rolled up
    records = UsageRecord.objects.count()
    report.append(f"- Records in the table: {records:,}")
    views = [] if args.skip_views else time_views(args.repeat)
    if views:
        report += ["", "| View | Median ms | Max ms | Queries |", "|---|---:|---:|---:|"]
        report += [f"| {row['view']} | {row['median']:.0f} | {row['max']:.0f} | {row['queries']} |" for row in views]

    runs = [ingest(args.database_url, args.ingest, int(workers)) for workers in args.workers.split(",") if workers]
    runs += [ingest(args.database_url, args.ingest, int(workers), "buffer")
             for workers in args.buffered_workers.split(",") if workers]
    runs += [ingest(args.database_url, args.ingest, int(workers), "redis", args.redis_url)
             for workers in args.queue_workers.split(",") if workers]
    report += ["", "| record_usage ingestion | Processes | Calls | Records/s | Client CPU µs per call | "
               "Drained into PostgreSQL, rows/s |", "|---|---:|---:|---:|---:|---:|"]
    report += [f"| {MODES[run['mode']]} | {run['workers']} | {run['calls']:,} | {run['rate']:,.0f} | "
               f"{run['cpu_us']:,.0f} | {run['drain_rate']:,.0f} |" if "drain_rate" in run else
               f"| {MODES[run['mode']]} | {run['workers']} | {run['calls']:,} | {run['rate']:,.0f} | "
               f"{run['cpu_us']:,.0f} | |" for run in runs]
    setup_django(args.database_url)
    started = time.perf_counter()
    summary = update_rollups()
    report.append(f"\nRolling those {summary['ids_rolled_up']:,} records up took "
                  f"{time.perf_counter() - started:.2f} s.")
    if views:
        # A tail as big as a page reads (TAIL_MAX_PAGE records newer than the last rollup run).
        from usage.queries import TAIL_MAX_PAGE

        ingest(args.database_url, TAIL_MAX_PAGE, 1)  # one INSERT per call: the rows are there at once
        setup_django(args.database_url)
        tail_views = time_views(3)
        report += ["", f"With {TAIL_MAX_PAGE:,} records not rolled up yet (the most a page reads from the raw "
                   "table):", ""]
        report += [f"- {row['view']}: median {row['median']:.0f} ms, max {row['max']:.0f} ms"
                   for row in tail_views]
        update_rollups()
        views += tail_views

    worst = max((row["max"] for row in views), default=0.0)
    best = {mode: max((run["rate"] for run in runs if run["mode"] == mode), default=0.0) for mode in MODES}
    # The queue keeps up only as fast as both ends: calls into Redis and the drain into the database.
    best["redis"] = max((min(run["rate"], run["drain_rate"]) for run in runs if run["mode"] == "redis"), default=0.0)
    verdict_ms = "PASS" if worst <= FLOOR_MS else "FAIL"
    verdict_rate = "PASS" if max(best.values()) >= FLOOR_RATE else "FAIL"
    scale_note = "" if records >= 10_000_000 else f" (floor stated for 10M records; measured at {records:,})"
    report += ["", f"- Dashboard server time: worst {worst:.0f} ms, floor {FLOOR_MS:.0f} ms: {verdict_ms}{scale_note}"
               if views else "- Dashboard: not measured (--skip-views)",
               *[f"- Ingestion, {MODES[mode]}: best {rate:,.0f} records/s, floor {FLOOR_RATE:,.0f}: "
                 f"{'PASS' if rate >= FLOOR_RATE else 'FAIL'}" for mode, rate in best.items() if rate]]
    print("\n".join(report))
    return 0 if verdict_ms == verdict_rate == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
