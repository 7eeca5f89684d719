"""Circuit breakers per provider and per provider and model: consecutive failures, error rate,
half-open probes, the stored policy, and shared state across processes."""
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from providers import breaker, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import Fault
from providers.models import ProviderRouting
from tests.celery_worker import ROOT
from tests.fake_providers import anthropic_settings, bedrock_settings, model_calls

pytestmark = pytest.mark.django_db
CLIENT = CallContext(purpose="client")


def _request(model):
    return {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}


def _policy(**values):
    ProviderRouting.objects.update_or_create(pk=1, defaults=values)
    snapshot.forget()
    breaker.forget_recent()


@pytest.fixture
def chain(anthropic_fake, bedrock_fake):
    """The Anthropic API first, with opus mapped to a model it does not serve; Bedrock second."""
    primary = anthropic_settings(anthropic_fake, name="primary", model_mapping={"opus": "claude-opus-does-not-exist"})
    return [primary, bedrock_settings(bedrock_fake, name="fallback")]


def test_a_failing_model_opens_its_own_breaker_and_leaves_the_other_models_on_the_provider(chain, anthropic_fake):
    for _ in range(breaker.FAILURE_THRESHOLD):
        served = invoke(chain, _request("opus"), CLIENT)
        assert served.provider_name == "fallback", "model_not_available fails over"
    assert breaker.is_open("primary/opus")
    assert not breaker.is_open("primary"), "one missing model must not take the provider out"
    tried = len(model_calls(anthropic_fake))
    breaker.forget_recent()
    assert invoke(chain, _request("opus"), CLIENT).provider_name == "fallback"
    assert len(model_calls(anthropic_fake)) == tried, "the open model breaker is skipped: no failed call first"
    assert invoke(chain, _request("haiku"), CLIENT).provider_name == "primary", "haiku still goes to the primary"
    assert len(model_calls(anthropic_fake)) == tried + 1


def test_a_provider_wide_failure_opens_the_provider_breaker_for_every_model(chain, anthropic_fake):
    anthropic_fake.inject(Fault("unavailable", times=None))
    for _ in range(breaker.FAILURE_THRESHOLD):
        invoke(chain, _request("haiku"), CLIENT)
    assert breaker.is_open("primary")
    breaker.forget_recent()
    anthropic_fake.reset()
    assert invoke(chain, _request("sonnet"), CLIENT).provider_name == "fallback"
    assert model_calls(anthropic_fake) == [], "another model skips the open provider too"


def test_the_error_rate_opens_a_breaker_that_never_saw_consecutive_failures(chain, anthropic_fake):
    _policy(breaker_failures=100, breaker_error_rate=50, breaker_min_calls=4, breaker_window_seconds=600)
    for failing in (False, True, False, True):
        if failing:
            anthropic_fake.inject(Fault("unavailable", times=3))  # every try (FAST_RETRY: 3)
        invoke(chain, _request("haiku"), CLIENT)
    current = breaker.state("primary")
    assert current["failures"] == 1, "never two failures in a row"
    assert breaker.window_counts("primary", snapshot.current().breaker) == (4, 2)
    assert breaker.phase(current) == "open"


def test_the_error_rate_needs_the_minimum_number_of_calls(chain, anthropic_fake):
    _policy(breaker_failures=100, breaker_error_rate=50, breaker_min_calls=10, breaker_window_seconds=600)
    anthropic_fake.inject(Fault("unavailable", times=3))
    invoke(chain, _request("haiku"), CLIENT)
    assert breaker.phase(breaker.state("primary")) == "closed", "1 failed of 1 call is not yet a rate"


def test_half_open_lets_one_trial_call_through_which_closes_on_success_and_reopens_on_failure(chain, anthropic_fake):
    _policy(breaker_failures=2, breaker_open_seconds=1)
    anthropic_fake.inject(Fault("unavailable", times=None))
    for _ in range(2):
        invoke(chain, _request("haiku"), CLIENT)
    assert breaker.phase(breaker.state("primary")) == "open"
    time.sleep(1.1)  # the open period (1 s) ends
    assert breaker.phase(breaker.state("primary")) == "half_open"

    tried = len(model_calls(anthropic_fake))
    assert invoke(chain, _request("haiku"), CLIENT).provider_name == "fallback"  # the probe fails over
    assert len(model_calls(anthropic_fake)) > tried, "the probe went to the primary"
    assert breaker.phase(breaker.state("primary")) == "open", "a failed probe opens the breaker again"

    anthropic_fake.reset()
    time.sleep(1.1)
    breaker.forget_recent()
    assert invoke(chain, _request("haiku"), CLIENT).provider_name == "primary", "the probe succeeds"
    assert breaker.phase(breaker.state("primary")) == "closed" and breaker.state("primary")["failures"] == 0


def test_only_one_caller_wins_the_half_open_probe():
    error = ProviderError(ErrorKind.UNAVAILABLE, "down")
    policy = breaker.Policy(failures=1, open_seconds=1)
    breaker.record_failure("probe-me", error, policy)
    time.sleep(1.1)
    current = breaker.state("probe-me")
    assert [breaker.admit("probe-me", current) for _ in range(3)] == [True, False, False]
    breaker.record_success("probe-me", current, policy)
    assert breaker.admit("probe-me", breaker.state("probe-me")), "closed again: everyone is admitted"


def test_the_policy_is_read_from_the_snapshot_without_a_query_per_call(chain):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _policy(breaker_failures=7, breaker_open_seconds=120)
    assert snapshot.current().breaker == breaker.Policy(failures=7, error_rate=50, window_seconds=60, min_calls=10,
                                                        open_seconds=120)
    invoke(chain, _request("haiku"), CLIENT)
    with CaptureQueriesContext(connection) as queries:
        invoke(chain, _request("haiku"), CLIENT)
    assert not [q for q in queries.captured_queries if "providers_" in q["sql"]]


_RACE = """
import django, sys; django.setup()
from providers import breaker
from providers.clients.errors import ErrorKind, ProviderError
barrier_file, count = sys.argv[1], int(sys.argv[2])
import os, time
while not os.path.exists(barrier_file):
    time.sleep(0.005)
error = ProviderError(ErrorKind.UNAVAILABLE, "down")
policy = breaker.Policy(failures=10**6, error_rate=0, window_seconds=600)
for _ in range(count):
    breaker.record_failure("shared/model-x", error, policy)
print("probe" if breaker.admit("half", breaker.state("half")) else "skip")
"""


@pytest.mark.skipif("redis" not in settings.CACHES["default"]["BACKEND"].lower(),
                    reason="processes share breaker state through Redis (CI runs this with CACHE_URL)")
@pytest.mark.django_db(transaction=True)
def test_processes_recording_at_once_leave_the_exact_count_and_one_probe(tmp_path):
    error = ProviderError(ErrorKind.UNAVAILABLE, "down")
    breaker.record_failure("half", error, breaker.Policy(failures=1, open_seconds=1))
    time.sleep(1.1)  # "half" is half-open: exactly one of the processes below may probe it
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", _RACE, str(go), "25"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, text=True) for _ in range(6)]
    time.sleep(1.0)  # let them import Django before they start together
    go.write_text("go")
    outputs = [p.communicate(timeout=120)[0].strip().splitlines()[-1] for p in processes]
    assert breaker.state("shared/model-x")["failures"] == 150
    assert breaker.window_counts("shared/model-x", breaker.Policy(window_seconds=600))[1] == 150
    assert sorted(outputs) == ["probe"] + ["skip"] * 5
