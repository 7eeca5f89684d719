"""The client pool (providers.client_pool): a client whose assumed-role credentials near expiry is
rebuilt, and threads asking for a new configuration at the same moment get one client, built once.
(Reuse across calls and a rebuild after a configuration change: tests/providers/test_call_command.py.)"""
import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from providers import client_pool
from providers.calls import invoke
from providers.clients.aws_credentials import _assumed
from tests.fake_providers import anthropic_settings, bedrock_settings

HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}
ROLE = "arn:aws:iam::123456789012:role/MomentsBedrock"


def assume_role_calls(fake):
    return sum(1 for r in fake.requests if (r.form or {}).get("Action") == "AssumeRole")


@pytest.mark.django_db
def test_a_client_whose_assumed_role_nears_expiry_is_rebuilt_with_fresh_credentials(bedrock_fake):
    _assumed.clear()
    settings = bedrock_settings(bedrock_fake, role_arn=ROLE)
    invoke([settings], HELLO)
    pooled = client_pool.client_for(settings)
    assert pooled.credentials.expires_at is not None and client_pool.client_for(settings) is pooled
    invoke([settings], HELLO)
    assert assume_role_calls(bedrock_fake) == 1  # reused while the credentials are fresh

    _assumed.clear()  # what the process-wide cache would also do within the refresh margin
    pooled.credentials.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # inside the margin
    rebuilt = client_pool.client_for(settings)
    assert rebuilt is not pooled
    invoke([settings], HELLO)
    assert assume_role_calls(bedrock_fake) == 2 and client_pool.client_for(settings) is rebuilt


def test_threads_asking_at_once_share_one_client_built_once(anthropic_fake, monkeypatch):
    built, real = [], client_pool.get_client

    def slow_build(settings, availability_cache=None):  # the real client, built slowly so the threads overlap
        built.append(settings.name)
        time.sleep(0.05)
        return real(settings, availability_cache=availability_cache)

    monkeypatch.setattr(client_pool, "get_client", slow_build)
    settings = anthropic_settings(anthropic_fake, name="asked-by-many")
    start = threading.Barrier(8)

    def ask(_):
        start.wait()
        return client_pool.client_for(settings)

    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(ask, range(8)))
    assert len({id(client) for client in clients}) == 1 and built == ["asked-by-many"]
