"""Stored provider configuration, following the config.yml schema (docs/providers/config-yml.md).

Secrets are Fernet tokens (providers.crypto); an env-var name, when set, wins
over a stored secret. Kinds and auth modes are validated by the forms and the
config.yml importer against the provider registry, not by DB choices.
"""
from django.conf import settings
from django.db import models

SECRET_FIELDS = ("api_key_encrypted", "aws_secret_access_key_encrypted",
                 "aws_session_token_encrypted", "bedrock_api_key_encrypted")


# Configuration fields of a provider (what a revision, an export and a fingerprint cover).
CONFIG_FIELDS = (
    "name", "kind", "enabled", "position", "timeout_seconds", "model_mapping", "verify_tls", "ca_bundle",
    "base_url", "api_key_env", "aws_region", "auth_mode", "aws_profile", "aws_access_key_id",
    "bedrock_api_key_env", "role_arn", "external_id", "role_session_name", "role_duration_seconds",
    "inference_profile", "geo_preference", "endpoint_url", "control_endpoint_url", "sts_endpoint_url",
    "bedrock_integration", "mantle_endpoint_url", "workspace_id", "beta_flags", "allow_insecure_http",
    "batch_s3_bucket", "batch_s3_prefix", "batch_role_arn", "s3_endpoint_url", "guardrail_identifier",
    "guardrail_version", "guardrail_stream_mode", "guardrail_apply", "guardrail_aws_provider",
    "prompt_caching", "prompt_caching_ttl",
)
# Automatic prompt caching per provider: blank follows the global default (PROMPT_CACHING_AUTO / _TTL).
PROMPT_CACHING_CHOICES = (("", "Default (the PROMPT_CACHING_AUTO setting)"), ("on", "On"), ("off", "Off"))
PROMPT_CACHING_TTL_CHOICES = (("", "Default (the PROMPT_CACHING_TTL setting)"), ("5m", "5 minutes"),
                              ("1h", "1 hour"))
ROUTING_FIELDS = ("primary", "fallbacks", "auto_fallback", "environment_primary", "rollout",
                  # Circuit-breaker policy and the Status page's manual overrides (providers.breaker, docs/health.md).
                  "breaker_failures", "breaker_error_rate", "breaker_window_seconds", "breaker_min_calls",
                  "breaker_open_seconds", "forced_out", "pinned_primary")


class ProviderConfig(models.Model):
    name = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    timeout_seconds = models.FloatField(default=60.0)
    model_mapping = models.JSONField(default=dict, blank=True)  # logical name -> override of the catalog default
    verify_tls = models.BooleanField(default=True)
    ca_bundle = models.CharField(max_length=500, blank=True)
    # Send the provider's secret over plain http:// to a non-loopback host (providers/plain_http.py).
    allow_insecure_http = models.BooleanField(default=False)
    prompt_caching = models.CharField(max_length=3, blank=True, choices=PROMPT_CACHING_CHOICES)
    prompt_caching_ttl = models.CharField(max_length=2, blank=True, choices=PROMPT_CACHING_TTL_CHOICES)

    # Anthropic
    base_url = models.CharField(max_length=500, blank=True)
    api_key_env = models.CharField(max_length=100, blank=True, default="ANTHROPIC_API_KEY")
    api_key_encrypted = models.TextField(blank=True)

    # Bedrock
    aws_region = models.CharField(max_length=30, blank=True)
    auth_mode = models.CharField(max_length=20, default="default_chain")
    aws_profile = models.CharField(max_length=100, blank=True)
    aws_access_key_id = models.CharField(max_length=128, blank=True)
    aws_secret_access_key_encrypted = models.TextField(blank=True)
    aws_session_token_encrypted = models.TextField(blank=True)
    bedrock_api_key_env = models.CharField(max_length=100, blank=True, default="AWS_BEARER_TOKEN_BEDROCK")
    bedrock_api_key_encrypted = models.TextField(blank=True)
    role_arn = models.CharField(max_length=300, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    role_session_name = models.CharField(max_length=64, blank=True, default="moments-admin")
    role_duration_seconds = models.PositiveIntegerField(default=3600)
    inference_profile = models.CharField(max_length=300, blank=True)
    geo_preference = models.CharField(max_length=10, blank=True)
    endpoint_url = models.CharField(max_length=500, blank=True)
    control_endpoint_url = models.CharField(max_length=500, blank=True)
    sts_endpoint_url = models.CharField(max_length=500, blank=True)
    # auto (each model's, from the catalog), invoke, messages or mantle (providers.clients.bedrock_integrations)
    bedrock_integration = models.CharField(max_length=10, blank=True, default="auto")
    mantle_endpoint_url = models.CharField(max_length=500, blank=True)

    # Claude Platform on AWS (kind aws_platform; shares the AWS auth fields, and api_key_* for a workspace API key)
    workspace_id = models.CharField(max_length=100, blank=True)

    # Anthropic beta flags sent on every request of this provider (those it does not accept are dropped)
    beta_flags = models.JSONField(default=list, blank=True)
    # Bedrock batch inference: where input and output go, and the role Bedrock assumes to reach them
    batch_s3_bucket = models.CharField(max_length=63, blank=True)
    batch_s3_prefix = models.CharField(max_length=200, blank=True, default="moments-batch")
    batch_role_arn = models.CharField(max_length=300, blank=True)
    s3_endpoint_url = models.CharField(max_length=500, blank=True)
    # Bedrock Guardrails, applied to every request this provider sends where the integration supports it
    guardrail_identifier = models.CharField(max_length=300, blank=True)
    guardrail_version = models.CharField(max_length=10, blank=True)
    guardrail_stream_mode = models.CharField(max_length=5, blank=True, default="sync")
    # Where the integration takes no guardrail (Anthropic API, Bedrock Messages API / mantle): check input and
    # output with ApplyGuardrail (True), or leave the guardrail off there and say so (False).
    guardrail_apply = models.BooleanField(default=False)
    guardrail_aws_provider = models.CharField(max_length=50, blank=True)  # Anthropic: the Bedrock provider to call

    # Last test connection
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_summary = models.CharField(max_length=500, blank=True)
    last_test_steps = models.JSONField(default=list, blank=True)
    last_test_run = models.CharField(max_length=40, blank=True)
    last_test_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    @property
    def auth_mode_label(self):
        from providers.validation import AUTH_MODE_LABELS

        return AUTH_MODE_LABELS.get(self.auth_mode, self.auth_mode)


class ProviderRouting(models.Model):
    """Which provider serves traffic: one row (pk=1). Names refer to ProviderConfig.name.

    A blank primary means automatic: MOMENTS_ENV decides (development prefers
    Anthropic; staging and production prefer Bedrock).
    """

    primary = models.CharField(max_length=50, blank=True)
    fallbacks = models.JSONField(default=list, blank=True)
    auto_fallback = models.BooleanField(default=True)
    environment_primary = models.JSONField(default=dict, blank=True)  # MOMENTS_ENV -> provider name
    # A gradual rollout (the migration wizard): {"target": name, "percent": 1..100, ...}; {} when none.
    rollout = models.JSONField(default=dict, blank=True)
    # Circuit breakers (per provider and per provider and model): open after this many consecutive
    # failures, or when at least breaker_min_calls calls in the window fail at this percentage (0: off).
    breaker_failures = models.PositiveIntegerField(default=3)
    breaker_error_rate = models.PositiveIntegerField(default=50)  # percent
    breaker_window_seconds = models.PositiveIntegerField(default=60)
    breaker_min_calls = models.PositiveIntegerField(default=10)
    breaker_open_seconds = models.PositiveIntegerField(default=60)  # then one trial call (half-open)
    # Manual overrides from the Status page (each change is a revision).
    forced_out = models.JSONField(default=list, blank=True)  # provider names taken out of traffic
    pinned_primary = models.CharField(max_length=50, blank=True)  # wins over the configured primary

    def __str__(self):
        return f"primary={self.primary or 'automatic'} fallbacks={self.fallbacks}"

    @classmethod
    def load(cls):
        routing, _ = cls.objects.get_or_create(pk=1)
        return routing


class ConfigRevision(models.Model):
    """A snapshot of the whole provider configuration after a change (secrets as tokens)."""

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    summary = models.CharField(max_length=300)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"#{self.pk} {self.summary}"


class ConversationSession(models.Model):
    """A persisted session (providers.sessions): its settings and history, for resuming it."""

    name = models.CharField(max_length=200, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    model = models.CharField(max_length=200)
    system = models.JSONField(null=True, blank=True)  # a string or a list of text blocks
    max_turns = models.PositiveIntegerField(null=True, blank=True)
    messages = models.JSONField(default=list)
    turns = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)  # every input kind: uncached, cache writes and reads
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.name or f"session {self.pk}"


class ResponseCacheEntry(models.Model):
    """The index of what the response cache stored (the answer itself lives in the shared cache)."""

    cache_key = models.CharField(max_length=255, unique=True)
    model = models.CharField(max_length=200)
    agent = models.CharField(max_length=128, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    hits = models.PositiveBigIntegerField(default=0)  # each process adds its buffered counts once a second

    class Meta:
        indexes = [models.Index(fields=["model"], name="response_cache_model"),
                   models.Index(fields=["expires_at"], name="response_cache_expires"),
                   models.Index(fields=["-hits", "-created_at"], name="response_cache_top")]

    def __str__(self):
        return f"{self.model} {self.cache_key[-12:]}"
GATEWAY_RESPONSE_CACHE_CHOICES = (
    ("request", "As each request asks (x-moments-cache header; default skip)"),
    ("use", "Use for every request (a request may still send skip or refresh)"),
    ("off", "Never (the header is ignored)"),
)


class GatewayKey(models.Model):
    """A key for the Anthropic-compatible endpoint (/v1/). Only a SHA-256 of the key is stored.

    `label` is the name usage records and key budgets use (UsageRecord.gateway_key,
    Budget.gateway_key); it never changes, so a key's spend history survives a rotation.
    """

    label = models.SlugField(max_length=100, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    key_hint = models.CharField(max_length=24)  # first and last characters, enough to recognise it
    allowed_models = models.JSONField(default=list, blank=True)  # logical names or model IDs; empty: all
    monthly_budget_usd = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Cache policy of the key's calls (see docs/gateway.md, "Caching").
    response_cache = models.CharField(max_length=8, default="request", choices=GATEWAY_RESPONSE_CACHE_CHOICES)
    response_cache_ttl_seconds = models.PositiveIntegerField(null=True, blank=True)  # None: RESPONSE_CACHE_TTL_SECONDS
    prompt_caching = models.BooleanField(default=True)  # automatic breakpoints, where the provider has them on
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]

    def __str__(self):
        return self.label

    @property
    def revoked(self):
        return self.revoked_at is not None


class AgentDefinition(models.Model):
    """A sub-agent defined in configuration (config.yml `agents:`); providers.agents runs it."""

    name = models.CharField(max_length=128, unique=True)
    system = models.JSONField(null=True, blank=True)  # a string or a list of text blocks
    model = models.CharField(max_length=200, default="sonnet")
    max_turns = models.PositiveIntegerField(null=True, blank=True, default=10)
    max_tokens = models.PositiveIntegerField(default=1024)
    tools = models.JSONField(default=list, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    response_cache = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
