"""The wizard through HTTP: each step, the Celery jobs run eagerly, staff only, resumed by another user."""
import pytest
from django.urls import reverse

from providers.fakes import Fault
from providers.migration import jobs, rollout, state, verification
from providers.migration.models import Migration
from providers.migration.state import save_data
from providers.models import ProviderRouting
from tests.providers.conftest import assert_no_secrets

pytestmark = pytest.mark.django_db


def _post(client, view, migration=None, data=None, job=None):
    args = ([migration.pk] if migration else []) + ([job] if job else [])
    return client.post(reverse(f"migration:{view}", args=args), data or {})


def _start(client):
    response = client.post(reverse("migration:start"), {"direction": "to_bedrock", "source": "anthropic",
                                                        "target": "bedrock"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Migration.objects.get(status="in_progress")


def test_the_placeholder_is_now_the_wizard_at_step_one(staff_client, pair):
    response = staff_client.get(reverse("providers:migration"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="direction-form"' in html and "Start the migration" in html
    assert 'aria-current="step"' in html and "1. Direction and target" in html


def test_bad_direction_input_is_a_clear_400_that_keeps_the_choices(staff_client, pair):
    response = staff_client.post(reverse("migration:start"), {"direction": "to_bedrock", "source": "bedrock",
                                                              "target": "anthropic"})
    assert response.status_code == 400
    assert "this direction needs anthropic" in response.content.decode()
    response = staff_client.post(reverse("migration:start"), {"direction": "sideways"})
    assert response.status_code == 400 and not Migration.objects.exists()


def test_members_see_the_wizard_but_cannot_change_it(member_client, pair, staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    html = member_client.get(reverse("providers:migration")).content.decode()
    assert "2. Credentials for bedrock" in html and 'id="wizard-next"' not in html and 'id="test-button"' not in html
    assert _post(member_client, "go", migration, {"step": 1}).status_code == 403
    state.finish(migration, "cancelled", staff_user)
    response = member_client.post(reverse("migration:start"), {"direction": "to_bedrock", "source": "anthropic",
                                                               "target": "bedrock"})
    assert response.status_code == 403 and state.current() is None


def test_walking_every_step_to_the_switch_and_back(staff_client, pair, eager_celery,
                                                   django_capture_on_commit_callbacks):
    migration = _start(staff_client)
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert "2. Credentials for bedrock" in html and "bedrock:InvokeModel" in html
    assert_no_secrets(html)

    _post(staff_client, "go", migration, {"step": 3})
    _post(staff_client, "mapping", migration)
    html = staff_client.get(reverse("migration:detail", args=[migration.pk])).content.decode()
    assert "Every model resolves on the target" in html

    _post(staff_client, "go", migration, {"step": 4})
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "start-job", migration, {"model": "haiku"}, job="verification")
    migration.refresh_from_db()
    assert migration.data["verification"]["state"] == "done"
    assert migration.data["verification"]["done"] == migration.data["verification"]["total"] == 18
    progress = staff_client.get(reverse("migration:job-progress", args=[migration.pk, "verification"]))
    assert progress["HX-Refresh"] == "true"
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert "Every probe passed on the target" in html

    _post(staff_client, "go", migration, {"step": 5})
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "start-job", migration, {"model": "haiku", "requests": 2}, job="performance")
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert 'id="perf-table"' in html and 'data-plotly-figure="latency-figure"' in html and "<script>" not in html

    _post(staff_client, "go", migration, {"step": 6})
    _post(staff_client, "checklist", migration, {"ticked": ["quotas", "not-an-item"]})
    migration.refresh_from_db()
    assert migration.data["checklist"]["ticked"] == ["quotas"]

    _post(staff_client, "go", migration, {"step": 7})
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert 'id="switch-ready"' in html
    assert "<code>routing.primary</code></td><td class=\"diff-old\">anthropic</td><td class=\"diff-new\">bedrock" in html
    _post(staff_client, "switch", migration, {"keep_source_as_fallback": "on"})
    assert ProviderRouting.load().primary == "bedrock"
    html = staff_client.get(reverse("migration:detail", args=[migration.pk])).content.decode()
    assert 'id="rollback-button"' in html
    _post(staff_client, "rollback", migration)
    assert ProviderRouting.load().primary == "anthropic"
    migration.refresh_from_db()
    assert migration.status == "rolled_back"


def test_the_cost_step_says_when_tokens_were_counted_as_the_target_model_counts_them(
        staff_client, pair, eager_celery, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from providers.clients.usage import Usage
    from usage.services import record_usage

    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-4-6",
                 logical_model="sonnet", usage=Usage(10_000, 1_000), occurred_at=timezone.now())
    migration = _start(staff_client)
    Migration.objects.filter(pk=migration.pk).update(step=5)  # steps 3 and 4 are not what this test is about
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "start-job", migration, {"model": "haiku", "requests": 2}, job="performance")
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert "<code>claude-sonnet-4-6</code>" in html
    assert "tokens counted as the target model counts them (×1.3)" in html


def test_a_failed_verification_blocks_the_switch_with_its_reason(staff_client, pair, fresh_bedrock, eager_celery,
                                                                 django_capture_on_commit_callbacks):
    migration = _start(staff_client)
    _post(staff_client, "mapping", migration)
    fresh_bedrock.inject(Fault("access_denied", times=None))
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "start-job", migration, {"model": "haiku"}, job="verification")
    fresh_bedrock.reset()
    _post(staff_client, "go", migration, {"step": 7})
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert 'id="switch-blocked"' in html and "Verification failed: Plain text: The target failed: permission" in html
    assert html.count("wizard-step done failed") == 1  # the progress indicator marks step 4
    response = _post(staff_client, "switch", migration)
    assert response.status_code == 302 and ProviderRouting.load().primary == "anthropic"


def test_another_staff_user_resumes_where_the_first_left(client, staff_client, pair, django_user_model, password):
    migration = _start(staff_client)
    _post(staff_client, "go", migration, {"step": 3})
    bea = django_user_model.objects.create_user("bea", "bea@example.test", password, is_staff=True)
    client.force_login(bea)
    html = client.get(reverse("providers:migration")).content.decode()
    assert "3. Model mapping on bedrock" in html and "last step saved by alice" in html
    _post(client, "go", migration, {"step": 4})  # not before the mapping is checked
    migration.refresh_from_db()
    assert migration.step == 3
    assert "Step 3: Check the model mapping first." in client.get(reverse("providers:migration")).content.decode()
    _post(client, "mapping", migration)
    _post(client, "go", migration, {"step": 4})
    migration.refresh_from_db()
    assert (migration.step, migration.updated_by) == (4, "bea")
    _post(client, "go", migration, {"step": 3})  # Back: the step's results stay
    html = client.get(reverse("providers:migration")).content.decode()
    assert "3. Model mapping on bedrock" in html and "Every model resolves on the target" in html


def test_nonsense_step_and_job_names_get_clear_answers(staff_client, pair):
    migration = _start(staff_client)
    assert _post(staff_client, "go", migration, {"step": "x"}).status_code == 302
    _post(staff_client, "mapping", migration)
    save_data(migration.pk, "verification", {"result": verification.summarize([], "haiku")})
    assert _post(staff_client, "go", migration, {"step": "99"}).status_code == 302
    migration.refresh_from_db()
    assert migration.step == 7  # clamped to the last step
    assert _post(staff_client, "start-job", migration, {"model": "haiku"}, job="nope").status_code == 404
    assert _post(staff_client, "start-job", migration, {"model": ""}, job="verification").status_code == 400
    assert staff_client.get(reverse("migration:detail", args=[999])).status_code == 404


def test_the_progress_bar_polls_while_a_job_runs_and_stops_when_it_is_done(staff_client, pair):
    migration = _start(staff_client)
    save_data(migration.pk, "verification", {"state": "running", "done": 3, "total": 18, "current": "Streaming"})
    response = staff_client.get(reverse("migration:job-progress", args=[migration.pk, "verification"]))
    html = response.content.decode()
    assert 'max="18" value="3"' in html and 'hx-trigger="every 1s"' in html and "HX-Refresh" not in response
    save_data(migration.pk, "verification", {"state": "error", "error": "unexpected KeyError"})
    response = staff_client.get(reverse("migration:job-progress", args=[migration.pk, "verification"]))
    assert "The run stopped: unexpected KeyError" in response.content.decode() and response["HX-Refresh"] == "true"


def test_the_inline_mapping_fix_maps_the_logical_name_on_the_target(staff_client, pair):
    migration = _start(staff_client)
    _post(staff_client, "fix-mapping", migration, {"logical": "sonnet", "model_id": "not-a-model"})
    pair[1].refresh_from_db()
    assert pair[1].model_mapping == {}
    _post(staff_client, "fix-mapping", migration, {"logical": "sonnet", "model_id": "claude-sonnet-4-6"})
    pair[1].refresh_from_db()
    assert pair[1].model_mapping == {"sonnet": "claude-sonnet-4-6"}
    migration.refresh_from_db()
    [row] = [r for r in migration.data["mapping"]["result"]["rows"] if r["name"] == "sonnet"]
    assert "claude-sonnet-4-6" in row["target_id"]


def test_cancelling_ends_a_running_rollout(staff_client, pair, staff_user):
    migration = _start(staff_client)
    _post(staff_client, "mapping", migration)
    save_data(migration.pk, "verification", {"result": verification.summarize([], "haiku")})
    migration.refresh_from_db()
    rollout.set_percent(migration, 10, staff_user)
    assert ProviderRouting.load().rollout["percent"] == 10
    _post(staff_client, "cancel", migration)
    assert ProviderRouting.load().rollout == {}
    migration.refresh_from_db()
    assert migration.status == "cancelled"


def test_a_run_started_again_supersedes_the_old_one(staff_client, pair):
    migration = _start(staff_client)
    save_data(migration.pk, "verification", {"state": "running", "run": "new-run", "done": 0, "total": 18})
    assert jobs.run_verification(migration.pk, "old-run") == "stale run"
    save_data(migration.pk, "verification", {"done": 5}, run="old-run")  # a late progress report is dropped
    migration.refresh_from_db()
    assert migration.data["verification"]["done"] == 0


def test_a_deleted_target_is_explained_at_every_step(staff_client, pair):
    migration = _start(staff_client)
    pair[1].delete()
    for step in range(1, 8):
        migration.step = step
        migration.save()
        response = staff_client.get(reverse("providers:migration"))
        assert response.status_code == 200
        assert "No provider is named &#x27;bedrock&#x27;" in response.content.decode()


def test_back_from_bedrock_to_the_anthropic_api(staff_client, pair, eager_celery, django_capture_on_commit_callbacks):
    routing = ProviderRouting.load()
    routing.primary = "bedrock"
    routing.save()
    response = staff_client.post(reverse("migration:start"), {"direction": "to_anthropic", "source": "bedrock",
                                                              "target": "anthropic"})
    assert response.status_code == 302
    migration = Migration.objects.get(status="in_progress")
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert "2. Credentials for anthropic" in html and "authenticates to the Claude API with an API key" in html
    assert "unset CLAUDE_CODE_USE_BEDROCK" in html and 'id="iam-policy"' not in html
    assert_no_secrets(html)

    _post(staff_client, "mapping", migration)
    migration.refresh_from_db()
    logical = {row["name"]: row for row in migration.data["mapping"]["result"]["rows"]}
    assert logical["haiku"]["source_id"].endswith("anthropic.claude-haiku-5-5")
    assert logical["haiku"]["target_id"] == "claude-haiku-5-5" and migration.data["mapping"]["result"]["ok"]
    with django_capture_on_commit_callbacks(execute=True):
        _post(staff_client, "start-job", migration, {"model": "haiku"}, job="verification")
    migration.refresh_from_db()
    assert migration.data["verification"]["result"]["passed"]

    _post(staff_client, "go", migration, {"step": 6})
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert 'data-key="api_key"' in html and "CLAUDE_CODE_USE_BEDROCK unset for Claude Code users" in html
    assert 'data-key="iam_policy"' not in html and "export ANTHROPIC_API_KEY=" in html
    _post(staff_client, "go", migration, {"step": 7})
    _post(staff_client, "switch", migration, {"keep_source_as_fallback": "on"})
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks) == ("anthropic", ["bedrock"])


def test_the_inline_test_connection_of_step_two_ticks_the_checklist(staff_client, pair, staff_user):
    import re

    from providers.connection_test import STEPS

    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    html = staff_client.get(reverse("providers:migration")).content.decode()
    form = html[html.index('<form id="provider-form" hidden>'):].split("</form>")[0]
    fields = {}
    for tag in re.findall(r"<input [^>]*>", form):
        value = re.search(r'value="([^"]*)"', tag)
        fields[re.search(r'name="([^"]*)"', tag).group(1)] = value.group(1) if value else ""
    run = ""
    for step in STEPS:  # what htmx posts: the hidden stored values, step after step
        body = staff_client.post(reverse("providers:test-connection", args=[step]), {**fields, "run": run}
                                 ).content.decode()
        assert f'<li class="step ok" data-step="{step}">' in body
        following = re.search(r'"run": "([0-9a-f]{32})"', body)  # the next step's request carries the run
        run = following.group(1) if following else ""
    pair[1].refresh_from_db()
    assert pair[1].last_test_ok and pair[1].last_test_summary.startswith("Passed 5 checks")
    state.go_to(migration, 6, staff_user)
    html = staff_client.get(reverse("providers:migration")).content.decode()
    for key in ("iam_policy", "model_access"):  # checked automatically now, not left to tick
        item = html.split(f'data-key="{key}"')[1].split("</li>")[0]
        assert "✔" in item and "checked automatically" in item
