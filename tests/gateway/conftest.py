"""A real uvicorn server running the project's ASGI app (gateway + Django) for the gateway tests,
stored providers pointing at the fakes, and gateway keys."""
import importlib
import socket
import threading
import time

import anthropic
import httpx2
import pytest
import uvicorn
from django.apps import apps as django_apps

from providers.background import bookkeeping
from providers.gateway import services
from providers.gateway.keys import failed_attempts, keys
from providers.models import ProviderRouting
from tests.providers import conftest as provider_fixtures
from tests.providers.conftest import make_anthropic, make_bedrock
from usage.models import ModelPrice
from usage.pricing import forget_price_book

aws_env, anthropic_api, bedrock_api = provider_fixtures.aws_env, provider_fixtures.anthropic_api, \
    provider_fixtures.bedrock_api
bedrock_tls_api = provider_fixtures.bedrock_tls_api


@pytest.fixture(autouse=True)
def published_prices(django_db_blocker):
    """The list prices the usage migrations load: transactional tests empty every table when they end
    (serialized rollback would collide with the content types that flush recreates)."""
    with django_db_blocker.unblock():
        if not ModelPrice.objects.exists():
            for module, loader in (("0002_load_published_prices", "load_prices"),
                                   ("0005_current_lineup_prices", "load_current_lineup")):
                getattr(importlib.import_module(f"usage.migrations.{module}"), loader)(django_apps, None)
            forget_price_book()
    yield


@pytest.fixture(scope="session")
def gateway_server():
    from moments_admin.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def fresh_gateway_state(aws_env):
    forget_price_book()  # transactional tests reload the price rows with new ids
    keys.forget()
    failed_attempts._blocked.clear()
    yield
    keys.forget()
    failed_attempts._blocked.clear()


class _WaitOnClose(httpx2.SyncByteStream):
    def __init__(self, inner):
        self.inner = inner

    def __iter__(self):
        yield from self.inner

    def close(self):
        self.inner.close()
        bookkeeping.wait()


class RecordedTransport(httpx2.HTTPTransport):
    """A response, once read and closed, has its usage record written: the gateway records in the
    background after answering (providers.background), and the server runs in this process."""

    def handle_request(self, request):
        response = super().handle_request(request)
        response.stream = _WaitOnClose(response.stream)
        return response


def gateway_sdk(base_url, **options):
    """The real anthropic SDK pointed at the gateway; no retries, so every error shows."""
    options = {"max_retries": 0, "timeout": 20, **options}
    return anthropic.Anthropic(base_url=base_url, http_client=anthropic.DefaultHttpxClient(
        transport=RecordedTransport()), **options)


@pytest.fixture
def gateway(gateway_server, transactional_db):
    """The gateway's base URL, with the database visible to its worker threads."""
    yield gateway_server
    bookkeeping.wait()  # before the database is emptied


@pytest.fixture
def stored(anthropic_api, bedrock_api, transactional_db):
    """Anthropic primary, Bedrock fallback (both stored, both on the fakes)."""
    anthropic_api.reset()
    bedrock_api.reset()
    make_anthropic(server=anthropic_api, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.create(pk=1, primary="anthropic", fallbacks=["bedrock"])
    yield anthropic_api, bedrock_api
    anthropic_api.reset()
    bedrock_api.reset()


@pytest.fixture
def gateway_key(transactional_db):
    """(GatewayKey, key) with no restriction."""
    return services.create_key("team-web", owner="web team")


@pytest.fixture
def sdk(gateway, gateway_key):
    """The real anthropic SDK pointed at the gateway with a gateway key; no retries, so every error shows."""
    client = gateway_sdk(gateway, api_key=gateway_key[1])
    yield client
    client.close()
