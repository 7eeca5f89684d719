"""The list of provider kinds is written once (providers.clients.registry, with the Django plugins beside
it); everything else that needs every kind derives it from there, so adding a kind edits no other list.
Likewise one function resolves model names (providers.clients.resolution.resolve)."""
import ast
from pathlib import Path

from providers import tracing
from providers.clients.catalog import API_ID_KINDS
from providers.clients.registry import KINDS, kinds_where, provider_kinds
from providers.health.checks import PROBING_KINDS
from providers.kinds import PLUGINS, kind_choices
from usage.forms import KIND_CHOICES
from usage.pricing import PROVIDER_KINDS, SCOPES, parse_model_id

ROOT = Path(__file__).resolve().parents[2]
REGISTRIES = {ROOT / "providers" / "clients" / "registry.py"}


def spelled_kind_lists():
    """Literal tuples, lists, sets and dict keys anywhere in the app that name every registered kind."""
    kinds = set(KINDS)
    found = []
    for package in ("moments_admin", "providers", "usage"):
        for path in (ROOT / package).rglob("*.py"):
            if path in REGISTRIES or {"migrations", "fakes"} & set(path.parts):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                    items = node.elts
                elif isinstance(node, ast.Dict):
                    items = [key for key in node.keys if key is not None]
                else:
                    continue
                # a kind as an item, or as the first item of a (kind, label) pair
                heads = [item.elts[0] if isinstance(item, ast.Tuple) and item.elts else item for item in items]
                names = {h.value for h in heads if isinstance(h, ast.Constant) and isinstance(h.value, str)}
                if kinds <= names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_but_the_registry_spells_the_list_of_kinds():
    assert spelled_kind_lists() == []


def test_the_django_plugins_and_the_layer_registry_name_the_same_kinds():
    assert tuple(PLUGINS) == provider_kinds()


def test_what_needs_every_kind_follows_the_registry():
    kinds = provider_kinds()
    assert PROVIDER_KINDS == kinds and tuple(SCOPES) == kinds
    assert [kind for kind, _ in KIND_CHOICES] == list(kinds) and KIND_CHOICES == tuple(kind_choices())
    assert set(tracing.PROVIDER_NAMES) == set(kinds)
    assert set(API_ID_KINDS) | set(kinds_where(model_family="bedrock")) == set(kinds)
    assert PROBING_KINDS == {kind for kind, info in KINDS.items() if info.permission_probe}


def test_prices_follow_the_model_ids_a_kind_speaks():
    assert (SCOPES["bedrock"], SCOPES["anthropic"], SCOPES["aws_platform"]) == (
        ("global", "geo", "in_region"), ("standard",), ("standard",))
    geo = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert parse_model_id("bedrock", geo).scope == "geo"
    assert parse_model_id("aws_platform", geo).scope == parse_model_id("anthropic", geo).scope == "standard"
    assert parse_model_id("bedrock", geo).base_model == parse_model_id(None, geo).base_model == "claude-haiku-4-5"
    assert tracing.PROVIDER_NAMES == {"anthropic": "anthropic", "bedrock": "aws.bedrock", "aws_platform": "anthropic"}


def test_only_the_one_model_resolution_calls_the_catalog_resolver():
    callers = []
    for package in ("moments_admin", "providers", "usage"):
        for path in (ROOT / package).rglob("*.py"):
            if "fakes" in path.parts or path.name in ("catalog.py", "resolution.py"):
                continue
            if "resolve_model_id(" in path.read_text():
                callers.append(str(path.relative_to(ROOT)))
    assert callers == []  # everything else goes through providers.clients.resolution.resolve
