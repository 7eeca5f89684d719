"""Gradual rollout: the share of calls sent to the target first, revisions, side-by-side numbers, the auto-stop."""
import pytest

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.base import ProviderSettings
from providers.fakes import Fault
from providers.migration import mapping, rollout, state, switch, verification
from providers.migration.providers_of import settings_named
from providers.migration.tasks import check_rollouts
from providers.models import ConfigRevision, ProviderRouting
from providers.resolve import apply_rollout

pytestmark = pytest.mark.django_db
PING = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def _ready(user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", user)
    state.save_data(migration.pk, "mapping", {"result": mapping.check(settings_named("anthropic"),
                                                                       settings_named("bedrock"))})
    return state.save_data(migration.pk, "verification", {"result": verification.summarize([], "haiku")})


def test_the_rollout_puts_the_target_first_for_its_share_of_draws():
    a, b, c = (ProviderSettings(kind="anthropic", name=n) for n in ("src", "tgt", "other"))
    rolling = {"target": "tgt", "percent": 10}
    assert [s.name for s in apply_rollout([a, c, b], rolling, 0.05)] == ["tgt", "src", "other"]
    assert [s.name for s in apply_rollout([a, c, b], rolling, 0.10)] == ["src", "other", "tgt"]
    assert [s.name for s in apply_rollout([a, b], None, 0.0)] == ["src", "tgt"]


def test_each_step_is_a_revision_and_real_calls_reach_the_target(pair, staff_user, fresh_bedrock):
    migration = _ready(staff_user)
    before = ConfigRevision.objects.count()
    rollout.set_percent(migration, 100, staff_user, threshold=20)
    assert ConfigRevision.objects.count() == before + 1
    routing = ProviderRouting.load()
    assert routing.primary == "anthropic" and "bedrock" in routing.fallbacks
    served = {invoke(None, PING, CallContext(purpose="client")).provider_name for _ in range(3)}
    assert served == {"bedrock"}
    numbers = rollout.side_by_side(migration)
    assert numbers["target"]["requests"] == 3 and numbers["target"]["error_rate"] == 0.0
    with pytest.raises(state.WizardError, match="Choose one of 1, 10, 50, 100"):
        rollout.set_percent(migration, 30, staff_user)


def test_a_rollout_stops_by_itself_when_the_target_starts_failing(pair, staff_user, fresh_bedrock):
    migration = _ready(staff_user)
    rollout.set_percent(migration, 100, staff_user, threshold=20)
    fresh_bedrock.inject(Fault("access_denied", times=None))
    for _ in range(6):  # each fails over to the source: callers see answers, the target's rows show errors
        assert invoke(None, PING, CallContext(purpose="client")).provider_name == "anthropic"
    fresh_bedrock.reset()
    # The target's breaker opened after 3 failures in a row: it got no more calls to count.
    assert check_rollouts() == "bedrock failed 3 of 3 calls (100.0% > 20.0%); traffic is back on anthropic"
    assert ProviderRouting.load().rollout == {}
    migration.refresh_from_db()
    assert "traffic is back on anthropic" in migration.data["rollout"]["stopped"]
    assert check_rollouts() == "nothing to stop"


def test_too_few_calls_give_no_verdict(pair, staff_user, fresh_bedrock):
    migration = _ready(staff_user)
    rollout.set_percent(migration, 100, staff_user, threshold=20)
    fresh_bedrock.inject(Fault("access_denied", times=None))
    invoke(None, PING, CallContext(purpose="client"))
    fresh_bedrock.reset()
    assert check_rollouts() == "nothing to stop" and ProviderRouting.load().rollout["percent"] == 100


def test_the_switch_ends_the_rollout_and_its_rollback_does_not_bring_it_back(pair, staff_user):
    migration = _ready(staff_user)
    rollout.set_percent(migration, 50, staff_user)
    switch.switch(migration, staff_user)
    assert ProviderRouting.load().rollout == {}
    switch.rollback(migration, staff_user)
    routing = ProviderRouting.load()
    assert routing.primary == "anthropic" and routing.rollout == {}


def test_a_blocked_migration_cannot_start_a_rollout(pair, staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    with pytest.raises(state.WizardError, match="The rollout is blocked"):
        rollout.set_percent(migration, 1, staff_user)
    assert ProviderRouting.load().rollout == {}
