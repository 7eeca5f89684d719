"""Run web (ASGI), Celery worker and Celery beat together in the foreground.

`python -m moments_admin.launcher [--demo]`; Ctrl-C stops them all. With --demo
it also starts the fake Anthropic, Bedrock (with bedrock-mantle) and Claude Platform on AWS
servers and points a demo provider of each kind at them, so everything can be tried offline without keys.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def manage(*args, env):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main():
    from moments_admin import dotenv

    dotenv.load()  # .env at the project root (HOST, PORT, DEMO_*…); the real environment wins
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="start fake providers and seed demo data")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("DEBUG", "1")  # embedded defaults: a local run
    env.setdefault("DJANGO_SETTINGS_MODULE", "moments_admin.settings")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("createcachetable", env=env)
    manage("ensure_admin", env=env)
    # A fresh SQLite broker races beat and worker to create its tables; purging creates them first.
    subprocess.run([PYTHON, "-m", "celery", "-A", "moments_admin", "purge", "-f"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)

    commands = {
        "web": [PYTHON, "-m", "uvicorn", "moments_admin.asgi:application", "--host", args.host,
                "--port", str(args.port), "--no-access-log"],
        "worker": [PYTHON, "-m", "celery", "-A", "moments_admin", "worker", "--loglevel", "INFO",
                   "--concurrency", "2", "--without-gossip", "--without-mingle"],
        "beat": [PYTHON, "-m", "celery", "-A", "moments_admin", "beat", "--loglevel", "INFO",
                 "--schedule", str(Path(env.get("MOMENTS_VAR_DIR") or ROOT / "var") / "celerybeat-schedule")],
    }
    if args.demo:
        manage("seed_demo_providers", env=env)
        manage("seed_demo_usage", env=env)
        commands["fakes"] = [PYTHON, "manage.py", "run_demo_fakes"]
    processes = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    print(f"Moments Admin is running at http://{args.host}:{args.port}/ (Ctrl-C stops everything)", flush=True)

    def stop(*_):
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the rest", flush=True)
                    stop()
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
