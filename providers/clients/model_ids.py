"""The one parser of provider model IDs.

Every form an admin, a client or a usage record can carry goes through
`parse_model_id` here; the catalog (which model is it?) and pricing (which
price and scope?) both read its result, so they can never disagree on an ID.

Forms understood:
- Claude API IDs: `claude-sonnet-4-5-20250929`, `claude-sonnet-4-5`, `claude-3-5-haiku-latest`
  (also the IDs of Claude Platform on AWS, which uses the Claude API's IDs).
- Bedrock base IDs: `anthropic.claude-sonnet-4-5-20250929-v1:0`, `anthropic.claude-opus-4-6-v1`,
  unversioned `anthropic.claude-opus-4-7`; bedrock-mantle IDs have the same `anthropic.<model>` form.
- Inference profiles: a geo or `global.` before a base ID (`us.anthropic...`, `global.anthropic...`).
- ARNs: `foundation-model/<base ID>`, `inference-profile/<profile ID>` (the model is known),
  `application-inference-profile/<id>` (the model is only known through an operator mapping),
  and other Bedrock resources (provisioned throughput and the like: no model ID inside).

Profile prefixes: the geographies AWS defines for system inference profiles
(`us`, `eu`, `apac`, `jp`, `au`, `us-gov`; AWS CDK `CrossRegionInferenceProfileRegion`,
docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html)
plus `global`. There is no Canadian profile (`ca.`): callers in ca-central-1 use
`us.` profiles. A `ca.anthropic...` ID is therefore not recognised as a Claude
model anywhere (no catalog entry, no price) rather than guessed.
"""
import re
from dataclasses import dataclass
from functools import lru_cache

GEO_PREFIXES = ("us-gov", "us", "eu", "apac", "jp", "au")
PROFILE_PREFIXES = ("global", *GEO_PREFIXES)
VENDOR_PREFIX = "anthropic."
ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:bedrock:(?P<region>[\w-]*):(?P<account>\d*):(?P<resource>[\w-]+)/(?P<rest>.+)$")
MODEL_ARN_RESOURCES = ("foundation-model", "inference-profile")
_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)$")
_VERSION_SUFFIX = re.compile(r"-v\d+(:\d+)?$")
# Short aliases whose base name differs from the dated ID's (the `-0` spelling of the 4.0 models).
_BASE_ALIASES = {"claude-opus-4-0": "claude-opus-4", "claude-sonnet-4-0": "claude-sonnet-4"}


@dataclass(frozen=True)
class ParsedModelId:
    raw: str
    bedrock_id: str | None  # `anthropic.<model>[-vN[:M]]` without profile or ARN; None for Claude API IDs
    api_id: str | None  # the Claude API spelling (`claude-...`, version suffix dropped); None when unknown
    base_name: str | None  # the model without date or version, e.g. `claude-sonnet-4-5`; None when unknown
    profile: str | None = None  # `global` or a geo when called through a system inference profile
    arn_resource: str | None = None  # the ARN's resource type when the ID is an ARN

    @property
    def is_claude(self):
        return bool(self.base_name and self.base_name.startswith("claude-"))

    @property
    def scope(self):
        """How Bedrock serves this ID: `global`, a geo, `in_region` (base or mantle ID) or `custom` (other ARNs)."""
        if self.profile:
            return self.profile
        if self.arn_resource and self.arn_resource not in MODEL_ARN_RESOURCES:
            return "custom"
        return "in_region"

    @property
    def price_scope(self):
        """The Bedrock price scope: `global`, `geo` (any geo profile) or `in_region`; None for other ARNs."""
        if self.scope == "custom":
            return None
        return self.scope if self.scope in ("global", "in_region") else "geo"


def base_name(name):
    """`claude-sonnet-4-5-20250929` or `...-v1:0` -> `claude-sonnet-4-5` (lower case, aliases folded)."""
    name = _VERSION_SUFFIX.sub("", name.strip().lower())
    name = _DATE_SUFFIX.sub("", name)
    return _BASE_ALIASES.get(name, name)


@lru_cache(maxsize=4096)  # called for every usage record; the result is immutable
def parse_model_id(model_id):
    """Parse any provider model ID (see the module docstring). Never raises; None for an empty ID."""
    raw = (model_id or "").strip()
    if not raw:
        return None
    text, arn_resource = raw, None
    arn = ARN_PATTERN.match(raw)
    if arn:
        arn_resource = arn["resource"]
        if arn_resource not in MODEL_ARN_RESOURCES:
            return ParsedModelId(raw=raw, bedrock_id=None, api_id=None, base_name=None, arn_resource=arn_resource)
        text = arn["rest"]
    elif raw.startswith("arn:"):
        return ParsedModelId(raw=raw, bedrock_id=None, api_id=None, base_name=None, arn_resource="unknown")
    profile = None
    head, _, rest = text.partition(".")
    if head in PROFILE_PREFIXES and rest.startswith(VENDOR_PREFIX):
        profile, text = head, rest
    if text.startswith(VENDOR_PREFIX):
        model = text[len(VENDOR_PREFIX):]
        api_id = _VERSION_SUFFIX.sub("", model)
        return ParsedModelId(raw=raw, bedrock_id=text, api_id=api_id, base_name=base_name(model),
                             profile=profile, arn_resource=arn_resource)
    if "." in text or arn_resource:
        # Another vendor's model (`meta.llama...`), an unknown prefix (`ca.anthropic...`) or a profile ARN of one.
        return ParsedModelId(raw=raw, bedrock_id=None, api_id=None, base_name=None, arn_resource=arn_resource)
    return ParsedModelId(raw=raw, bedrock_id=None, api_id=text, base_name=base_name(text))


def strip_profile(model_id):
    """`us.anthropic.x` -> `anthropic.x`; a model ARN -> its base ID; other IDs unchanged."""
    parsed = parse_model_id(model_id)
    if parsed and parsed.bedrock_id:
        return parsed.bedrock_id
    if parsed and parsed.arn_resource:
        return model_id.rsplit("/", 1)[-1]
    return model_id


def profile_scope(model_id):
    """The scope a Bedrock ID is called through: a geo, `global`, `in_region`, or `custom` (ARNs)."""
    parsed = parse_model_id(model_id)
    if parsed is None:
        return "in_region"
    if parsed.arn_resource:
        return "custom"
    return parsed.scope


def mantle_id(api_id):
    """The bedrock-mantle ID of a Claude API model: `anthropic.<model>`, never a profile prefix."""
    return f"{VENDOR_PREFIX}{api_id}"


def priced_as(model_arns):
    """The model ID an application inference profile is priced as, from the foundation-model ARNs
    GetInferenceProfile lists: a global profile when a destination has no region, a geo profile when they
    span regions (every geo costs the same), else the in-region base ID. None without ARNs."""
    if not model_arns:
        return None
    base = model_arns[0].rsplit("/", 1)[-1]
    regions = {arn.split(":")[3] for arn in model_arns if arn.count(":") >= 5}
    if "" in regions:
        return f"global.{base}"
    if len(regions) > 1:
        geo = {"eu": "eu", "ap": "apac"}.get(sorted(regions)[0][:2], "us")
        return f"{geo}.{base}"
    return base
