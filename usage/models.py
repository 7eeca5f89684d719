"""Usage records, their rollups, the price table, budgets and recommendations.

Orchestration lives in services.py, pricing.py, rollups.py and budgets.py;
the models hold fields, constraints and small properties only.
"""
from django.conf import settings
from django.db import models

from usage.histogram import LATENCY_BOUNDS_MS

COST = {"max_digits": 18, "decimal_places": 6}  # exact to a millionth of a dollar
SUM = {"max_digits": 22, "decimal_places": 6, "default": 0}
PRICE = {"max_digits": 12, "decimal_places": 6}  # USD per million tokens


class UsageRecord(models.Model):
    """One provider call, priced at record time with the price in force then."""

    occurred_at = models.DateTimeField()
    provider_name = models.CharField(max_length=100)
    provider_kind = models.CharField(max_length=20)  # anthropic | bedrock | aws_platform
    model_id = models.CharField(max_length=255)  # exactly what was called
    base_model = models.CharField(max_length=100)  # e.g. claude-sonnet-4-5; the raw ID when unknown
    scope = models.CharField(max_length=16, blank=True)  # standard | global | geo | in_region; "" unknown
    logical_model = models.CharField(max_length=100, blank=True)
    purpose = models.CharField(max_length=16, default="gateway")
    status = models.CharField(max_length=32, default="ok")
    gateway_key = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    region = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    prompt_prefix_hash = models.CharField(max_length=128, blank=True)
    batch = models.BooleanField(default=False)
    stream = models.BooleanField(default=False)
    has_tools = models.BooleanField(default=False)
    long_context = models.BooleanField(default=False)
    is_demo = models.BooleanField(default=False)
    # The request's inference_geo ("us": US-only). A database default too: raw INSERTs need not name it.
    inference_geo = models.CharField(max_length=16, blank=True, default="", db_default="")
    # Request settings the provider layer changed to suit the serving model (thinking budget -> effort,
    # sampling dropped, betas dropped or translated), "; "-separated; "" when the request went as sent.
    adaptations = models.CharField(max_length=1000, blank=True, default="", db_default="")
    latency_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    input_tokens = models.IntegerField(default=0)  # uncached input only
    output_tokens = models.IntegerField(default=0)
    cache_write_5m_tokens = models.IntegerField(default=0)
    cache_write_1h_tokens = models.IntegerField(default=0)
    cache_read_tokens = models.IntegerField(default=0)
    # NULL costs mean "no price for this model": flagged, never counted as zero.
    price = models.ForeignKey("ModelPrice", null=True, blank=True, on_delete=models.PROTECT,
                              db_index=False, related_name="+")
    cost_input = models.DecimalField(null=True, blank=True, **COST)
    cost_output = models.DecimalField(null=True, blank=True, **COST)
    cost_cache_write = models.DecimalField(null=True, blank=True, **COST)
    cost_cache_read = models.DecimalField(null=True, blank=True, **COST)
    cost_total = models.DecimalField(null=True, blank=True, **COST)
    cache_savings = models.DecimalField(null=True, blank=True, **COST)
    # A response-cache hit (status "cache_hit", cost 0): the cost of the original answer it replayed.
    # NULL on every other row, and on a hit whose original was unpriced.
    response_cache_saving = models.DecimalField(null=True, blank=True, **COST)

    class Meta:
        indexes = [
            models.Index(fields=["occurred_at"], name="usage_record_occurred"),
            models.Index(fields=["id"], condition=models.Q(is_demo=True), name="usage_record_demo"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.provider_name} {self.model_id}"

    @property
    def priced(self):
        return self.cost_total is not None


class RollupMeasures(models.Model):
    requests = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    unpriced = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_write_5m_tokens = models.BigIntegerField(default=0)
    cache_write_1h_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cost_input = models.DecimalField(**SUM)
    cost_output = models.DecimalField(**SUM)
    cost_cache_write = models.DecimalField(**SUM)
    cost_cache_read = models.DecimalField(**SUM)
    cost_total = models.DecimalField(**SUM)
    cache_savings = models.DecimalField(**SUM)
    # With a database default: rollups written by an older release's raw INSERT during a deploy need not name it.
    response_cache_saving = models.DecimalField(**SUM, db_default=0)

    class Meta:
        abstract = True


class LatencyHistogram(models.Model):
    """Counts of successful requests per latency and time-to-first-token bin."""

    class Meta:
        abstract = True


for _index in range(len(LATENCY_BOUNDS_MS) + 1):
    LatencyHistogram.add_to_class(f"lat_{_index:02d}", models.BigIntegerField(default=0))
    LatencyHistogram.add_to_class(f"ttft_{_index:02d}", models.BigIntegerField(default=0))

COARSE_DIMENSIONS = ("bucket", "provider_name", "provider_kind", "base_model", "scope", "purpose",
                     "batch", "long_context", "is_demo")
FINE_DIMENSIONS = COARSE_DIMENSIONS + ("gateway_key", "agent")
KEY_DIMENSIONS = ("bucket", "gateway_key", "is_demo")
KEY_MODEL_DIMENSIONS = ("bucket", "gateway_key", "provider_name", "base_model", "is_demo")


class CoarseDimensions(models.Model):
    bucket = models.DateTimeField()
    provider_name = models.CharField(max_length=100)
    provider_kind = models.CharField(max_length=20)
    base_model = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, blank=True)
    purpose = models.CharField(max_length=16)
    batch = models.BooleanField(default=False)
    long_context = models.BooleanField(default=False)
    is_demo = models.BooleanField(default=False)

    class Meta:
        abstract = True


class FineDimensions(CoarseDimensions):
    gateway_key = models.CharField(max_length=128, blank=True)
    agent = models.CharField(max_length=128, blank=True)

    class Meta:
        abstract = True


class UsageHourly(FineDimensions, RollupMeasures):
    """Per hour, provider, model, key and agent."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=FINE_DIMENSIONS, name="usage_hourly_key")]
        indexes = [models.Index(fields=["gateway_key", "bucket"], name="usage_hourly_gwkey"),
                   models.Index(fields=["agent", "bucket"], name="usage_hourly_agent")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d %H}h {self.provider_name} {self.base_model} {self.gateway_key}"


class UsageDaily(FineDimensions, RollupMeasures):
    """Per day, provider, model, key and agent."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=FINE_DIMENSIONS, name="usage_daily_key")]
        indexes = [models.Index(fields=["gateway_key", "bucket"], name="usage_daily_gwkey"),
                   models.Index(fields=["agent", "bucket"], name="usage_daily_agent")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d} {self.provider_name} {self.base_model} {self.gateway_key}"


class ProviderHourly(CoarseDimensions, RollupMeasures, LatencyHistogram):
    """Per hour, provider and model (no key or agent), with latency histograms."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=COARSE_DIMENSIONS, name="provider_hourly_key")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d %H}h {self.provider_name} {self.base_model}"


class ProviderDaily(CoarseDimensions, RollupMeasures, LatencyHistogram):
    """Per day, provider and model (no key or agent), with latency histograms."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=COARSE_DIMENSIONS, name="provider_daily_key")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d} {self.provider_name} {self.base_model}"


class KeyDaily(models.Model):
    """Per day and gateway key only: the small table behind "top keys" on long ranges."""

    bucket = models.DateTimeField()
    gateway_key = models.CharField(max_length=128, blank=True)
    is_demo = models.BooleanField(default=False)
    requests = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    cost_total = models.DecimalField(**SUM)

    class Meta:
        constraints = [models.UniqueConstraint(fields=KEY_DIMENSIONS, name="key_daily_key")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d} {self.gateway_key}"


class KeyModelDaily(models.Model):
    """Per day, gateway key, provider and model: "top keys" when a provider or model filter is set."""

    bucket = models.DateTimeField()
    gateway_key = models.CharField(max_length=128, blank=True)
    provider_name = models.CharField(max_length=100)
    base_model = models.CharField(max_length=100)
    is_demo = models.BooleanField(default=False)
    requests = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    cost_total = models.DecimalField(**SUM)

    class Meta:
        constraints = [models.UniqueConstraint(fields=KEY_MODEL_DIMENSIONS, name="key_model_daily_key")]
        indexes = [models.Index(fields=["base_model", "bucket"], name="key_model_daily_model"),
                   models.Index(fields=["provider_name", "bucket"], name="key_model_daily_provider")]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d} {self.gateway_key} {self.base_model}"


class RollupState(models.Model):
    """Rollups hold exactly the usage records with id <= last_id."""

    name = models.CharField(max_length=32, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    # A gap in the ids may be a transaction still in flight: wait until every
    # transaction running when the gap was seen has ended (PostgreSQL snapshots).
    pending_hi = models.BigIntegerField(default=0)
    pending_xmax = models.BigIntegerField(default=0)
    version = models.BigIntegerField(default=0)  # bumped by every rollup change
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} through #{self.last_id}"


class RetentionState(models.Model):
    """Rows of `table` older than `pruned_before` are gone (usage/retention.py): readers avoid that range."""

    table = models.CharField(max_length=64, primary_key=True)
    pruned_before = models.DateTimeField()

    def __str__(self):
        return f"{self.table} pruned before {self.pruned_before:%Y-%m-%d}"


class ModelPrice(models.Model):
    """USD per million tokens for one provider, model and scope, from a date on."""

    provider_kind = models.CharField(max_length=20)
    base_model = models.CharField(max_length=100)
    scope = models.CharField(max_length=16)  # anthropic, aws_platform: standard; bedrock: global | geo | in_region
    effective_from = models.DateField()  # applies from 00:00 UTC that day
    input = models.DecimalField(**PRICE)
    output = models.DecimalField(**PRICE)
    cache_write_5m = models.DecimalField(**PRICE)
    cache_write_1h = models.DecimalField(**PRICE)
    cache_read = models.DecimalField(**PRICE)
    batch_discount = models.DecimalField(max_digits=4, decimal_places=3, default="0.5")
    long_context_threshold = models.IntegerField(null=True, blank=True)  # total input tokens above which
    long_context_input = models.DecimalField(null=True, blank=True, **PRICE)
    long_context_output = models.DecimalField(null=True, blank=True, **PRICE)
    # Factor for requests with inference_geo "us" (US-only inference); NULL: no premium for this model.
    us_only_multiplier = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    estimated = models.BooleanField(default=False, db_default=False)  # no published price: see the note
    source_url = models.URLField(max_length=300)
    source_date = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider_kind", "base_model", "scope", "effective_from"],
                                               name="model_price_once_per_date")]
        ordering = ["provider_kind", "base_model", "scope", "-effective_from"]

    def __str__(self):
        return f"{self.provider_kind} {self.base_model} {self.scope} from {self.effective_from}"


class ProfileMapping(models.Model):
    """An application inference profile ARN and the model ID it copies (its cost is that model's)."""

    arn = models.CharField(max_length=255, unique=True)
    model_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.arn} -> {self.model_id}"


class RecomputeJob(models.Model):
    """A staff request to re-price a period with the current price table."""

    start = models.DateField()
    end = models.DateField()  # inclusive
    provider_kind = models.CharField(max_length=20, blank=True)
    base_model = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, default="queued")  # queued | running | done | failed
    records = models.BigIntegerField(default=0)
    changed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Recompute {self.start}..{self.end} ({self.status})"

    @property
    def finished(self):
        return self.status in ("done", "failed")


class Budget(models.Model):
    """A monthly spend limit: overall, for one provider, or for one gateway key."""

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, default="overall")  # overall | provider | key
    provider_name = models.CharField(max_length=100, blank=True)
    gateway_key = models.CharField(max_length=128, blank=True)
    amount_usd = models.DecimalField(max_digits=14, decimal_places=2)
    thresholds = models.CharField(max_length=100, default="50,80,100")
    email_recipients = models.TextField(blank=True)  # comma separated
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_format = models.CharField(max_length=10, default="json")  # json | slack
    hard_stop = models.BooleanField(default=False)  # gateway-key budgets only
    blocked_month = models.DateField(null=True, blank=True)  # first day of the month the key is blocked in
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_alert_error = models.TextField(blank=True)  # why the last alert (real or test) failed
    last_alert_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name

    @property
    def threshold_list(self):
        return sorted({int(part) for part in self.thresholds.split(",") if part.strip()})

    @property
    def recipient_list(self):
        return [part.strip() for part in self.email_recipients.split(",") if part.strip()]


class BudgetAlert(models.Model):
    """One threshold crossed in one month; the unique constraint makes it fire once."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField()  # first day of the month
    threshold = models.IntegerField()
    spend_usd = models.DecimalField(max_digits=20, decimal_places=6)
    amount_usd = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # failed sends so far (each retry backs off)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["budget", "month", "threshold"], name="budget_alert_once")]

    def __str__(self):
        return f"{self.budget} {self.month:%Y-%m} {self.threshold}%"


class BatchableAgent(models.Model):
    """An agent whose traffic does not need an immediate answer (a batch candidate)."""

    name = models.CharField(max_length=128, unique=True)

    def __str__(self):
        return self.name


class Recommendation(models.Model):
    """A saving computed from recorded traffic by recommendations.refresh_recommendations()."""

    kind = models.CharField(max_length=32)  # haiku | caching | batch | global_profile
    # What traffic it concerns, so the dashboard's filters can select it; blank: several.
    provider_kind = models.CharField(max_length=20, blank=True, default="")
    base_model = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=200)
    detail = models.TextField()
    monthly_saving_usd = models.DecimalField(max_digits=20, decimal_places=2)
    period_days = models.IntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-monthly_saving_usd"]

    def __str__(self):
        return self.title


class UsageDeadLetter(models.Model):
    """A usage row the database refused even after sanitizing: kept with its error, for replay.

    payload is JSON text (not jsonb: PostgreSQL's jsonb refuses the very \\u0000 that may have
    caused the failure). `manage.py replay_usage_dead_letters` writes them back (docs/usage.md).
    """

    created_at = models.DateTimeField(auto_now_add=True)
    payload = models.TextField()
    error = models.TextField()

    def __str__(self):
        return f"dead letter {self.pk} at {self.created_at:%Y-%m-%d %H:%M:%S}"
