"""Fixtures for the usage app: recording helpers, eager Celery, a local webhook server."""
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from providers.clients.usage import Usage
from usage import services
from usage.pricing import forget_price_book

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_price_book()
    services.forget_blocked_keys()
    yield
    forget_price_book()
    services.forget_blocked_keys()


@pytest.fixture
def record():
    """record(**overrides): record_usage with sensible defaults (Sonnet 4.5 on the Anthropic API)."""

    def _record(tokens=None, **overrides):
        arguments = {
            "provider_name": "anthropic-main", "provider_kind": "anthropic",
            "model_id": "claude-sonnet-4-5-20250929", "logical_model": "sonnet",
            "usage": Usage(**(tokens or {"input_tokens": 1000, "output_tokens": 500})),
            "occurred_at": NOW, "latency_ms": 800.0,
        }
        arguments.update(overrides)
        return services.record_usage(**arguments)

    return _record


@pytest.fixture
def eager_celery():
    from moments_admin.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_server(settings):
    """A local HTTP server on 127.0.0.1 that records every POSTed JSON body (the outbound guard allows it here)."""
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    server.status = 200
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
