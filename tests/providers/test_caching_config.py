"""Prompt caching per provider (stored configuration, form, config.yml, snapshot) and the response
cache's total size limit (oldest entries evicted, shown on the management page)."""
import textwrap

import pytest
import yaml
from django.urls import reverse

from providers import response_cache
from providers.client import Anthropic
from providers.config_export import export_config
from providers.config_yaml import ConfigFileError, import_config, parse_config
from providers.kinds import PLUGINS
from providers.models import ProviderConfig, ResponseCacheEntry
from providers.resolve import build_settings
from tests.fake_providers import model_calls
from tests.providers.conftest import make_anthropic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]
SONNET = "claude-sonnet-4-6"
SYSTEM = "You answer questions about the handbook. " + "Handbook paragraph. " * 300  # ~1,500 tokens


@pytest.mark.parametrize(("stored", "global_on", "expected"), [
    ("", True, True), ("", False, False), ("on", False, True), ("off", True, False)])
def test_a_providers_policy_or_the_global_default_reaches_its_settings(settings, stored, global_on, expected):
    settings.PROMPT_CACHING_AUTO = global_on
    settings.PROMPT_CACHING_TTL = "1h"
    config = make_anthropic(prompt_caching=stored)
    resolved = build_settings(config).settings
    assert resolved.prompt_caching is expected and resolved.prompt_caching_ttl == "1h"
    config.prompt_caching_ttl = "5m"
    assert build_settings(config).settings.prompt_caching_ttl == "5m"


def test_every_kinds_form_offers_the_policy_and_saves_it():
    for plugin in PLUGINS.values():
        assert {"prompt_caching", "prompt_caching_ttl"} <= set(plugin.form_class.base_fields)
    config = make_anthropic()
    form = PLUGINS["anthropic"].form_class(
        {"name": "anthropic", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on", "api_key_env":
         "ANTHROPIC_API_KEY", "prompt_caching": "off", "prompt_caching_ttl": "1h"}, instance=config)
    assert form.is_valid(), form.errors
    saved = form.to_config()
    assert (saved.prompt_caching, saved.prompt_caching_ttl) == ("off", "1h")


def test_the_edit_page_shows_the_policy(staff_client):
    config = make_anthropic(prompt_caching="off")
    page = staff_client.get(reverse("providers:edit", args=[config.pk])).content.decode()
    assert 'id="prompt-caching"' in page and 'name="prompt_caching"' in page and 'name="prompt_caching_ttl"' in page


def test_config_yml_round_trips_the_policy_and_refuses_bad_values():
    text = textwrap.dedent("""\
        model_provider:
          type: anthropic
          anthropic:
            api_key_env: ANTHROPIC_API_KEY
            prompt_caching: false
            prompt_caching_ttl: 1h
        """)
    import_config(text)
    stored = ProviderConfig.objects.get(name="anthropic")
    assert (stored.prompt_caching, stored.prompt_caching_ttl) == ("off", "1h")
    block = yaml.safe_load(export_config())["model_provider"]["anthropic"]
    assert block["prompt_caching"] is False and block["prompt_caching_ttl"] == "1h"
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text.replace("1h", "2h").replace("false", "sometimes"))
    problems = [str(issue) for issue in caught.value.issues]
    assert any("prompt_caching (line 5)" in p and "true or false" in p for p in problems)
    assert any("prompt_caching_ttl (line 6)" in p and "5m or 1h" in p for p in problems)


def test_a_chain_honours_each_providers_own_policy(provider):
    """The call path places breakpoints per attempt: a provider with caching off gets none."""
    _kind, fake, make_settings = provider
    fake.cache.clear()
    client = Anthropic(chain=[make_settings(name="plain", prompt_caching=False)])
    client.messages.create(model=SONNET, max_tokens=8, system=SYSTEM, messages=[{"role": "user", "content": "hi"}])
    client = Anthropic(chain=[make_settings(name="cached")])
    client.messages.create(model=SONNET, max_tokens=8, system=SYSTEM, messages=[{"role": "user", "content": "hi"}])
    plain, cached = model_calls(fake)
    assert "cache_control" not in str(plain.json) and "cache_control" in str(cached.json)


# --- The response cache's total size limit ------------------------------------------------

def _entry(n):
    return {"digest": f"{n:064x}", "model": "haiku", "agent": "", "message": {"text": "x" * 2000},
            "provider_name": "anthropic", "provider_kind": "anthropic", "model_id": "m", "usage": {}, "cost_usd": None,
            "stored_at": "2026-01-01T00:00:00+00:00"}


def test_the_oldest_entries_are_evicted_over_the_total_limit(settings, staff_client):
    response_cache.invalidate_all()
    settings.RESPONSE_CACHE_MAX_TOTAL_BYTES = 5000  # room for two entries of ~2.2 KB
    keys = [response_cache.key_for("haiku", None, f"{n:064x}") for n in range(3)]
    for n, key in enumerate(keys):
        assert response_cache.put(key, _entry(n))
    response_cache.forget_generations()  # this process's memory of recent entries
    assert response_cache.lookup(keys[0]) is None  # the oldest went
    assert response_cache.lookup(keys[1]) is not None and response_cache.lookup(keys[2]) is not None
    assert sorted(ResponseCacheEntry.objects.values_list("cache_key", flat=True)) == sorted(keys[1:])
    assert sum(ResponseCacheEntry.objects.values_list("size_bytes", flat=True)) <= 5000
    page = staff_client.get(reverse("providers:response-cache")).content.decode()
    assert 'id="cache-limit"' in page and "4.9\xa0KB" in page  # the limit, shown beside the size
    assert 'id="cache-evictions">1<' in page


def test_an_entry_larger_than_the_whole_limit_is_not_stored(settings):
    settings.RESPONSE_CACHE_MAX_TOTAL_BYTES = 1024
    key = response_cache.key_for("haiku", None, "f" * 64)
    assert not response_cache.put(key, _entry(9))
    assert not ResponseCacheEntry.objects.exists()
