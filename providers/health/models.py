"""Health monitoring: the editable settings row, every check result, each target's state, incidents.

A target is a provider (model "") or one logical model of a provider. States are plain strings
(operational, degraded, down, maintenance), not DB choices, so a new state needs no migration.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone

STATES = ("operational", "degraded", "down", "maintenance")


def default_interval():
    return settings.HEALTH_CHECK_INTERVAL_SECONDS


class HealthSettings(models.Model):
    """One row (pk=1): what the dashboard edits. Defaults come from the environment."""

    interval_seconds = models.PositiveIntegerField(default=default_interval)
    down_after_failures = models.PositiveIntegerField(default=2)  # grace: one failed check only degrades
    up_after_successes = models.PositiveIntegerField(default=2)  # and one good check does not close
    alert_emails = models.TextField(blank=True)  # comma or newline separated
    webhook_url = models.URLField(max_length=500, blank=True)
    maintenance = models.JSONField(default=list, blank=True)  # provider names under maintenance
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"health checks every {self.interval_seconds}s"

    @classmethod
    def load(cls):
        row, _ = cls.objects.get_or_create(pk=1)
        return row

    @property
    def recipient_list(self):
        return [a.strip() for a in self.alert_emails.replace("\n", ",").split(",") if a.strip()]


class CheckResult(models.Model):
    """One check of one provider model: the time series behind the status page."""

    checked_at = models.DateTimeField(db_index=True)
    run_id = models.CharField(max_length=40)
    provider_name = models.CharField(max_length=50)
    provider_kind = models.CharField(max_length=20)
    model = models.CharField(max_length=50)  # logical name
    model_id = models.CharField(max_length=300, blank=True)
    ok = models.BooleanField()
    check_kind = models.CharField(max_length=30)  # count_tokens, permission_probe, one_token
    tokens_spent = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(null=True)
    error_kind = models.CharField(max_length=30, blank=True)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["provider_name", "model", "checked_at"])]
        ordering = ["-checked_at", "-pk"]

    def __str__(self):
        return f"{self.provider_name}/{self.model} {'ok' if self.ok else self.error_kind} {self.checked_at:%H:%M:%S}"


class TargetState(models.Model):
    provider_name = models.CharField(max_length=50)
    model = models.CharField(max_length=50, blank=True)  # "" for the provider as a whole
    state = models.CharField(max_length=20, default="operational")
    since = models.DateTimeField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True)
    last_latency_ms = models.FloatField(null=True)
    last_check = models.CharField(max_length=60, blank=True)  # which check and what it spent
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider_name", "model"], name="one_state_per_target")]
        ordering = ["provider_name", "model"]

    def __str__(self):
        return f"{self.provider_name}/{self.model or '*'}: {self.state}"


class Incident(models.Model):
    provider_name = models.CharField(max_length=50)
    model = models.CharField(max_length=50, blank=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cause = models.CharField(max_length=30)  # the error kind that opened it
    opened_by = models.CharField(max_length=10, default="checks")  # "checks", or "traffic": a breaker opened by real calls
    message = models.CharField(max_length=500, blank=True)
    error_kinds = models.JSONField(default=list, blank=True)
    failover_target = models.CharField(max_length=50, blank=True)  # where traffic went
    failovers_at_start = models.PositiveIntegerField(default=0)  # health.passive counter when it opened
    failovers = models.PositiveIntegerField(default=0)  # calls served by a fallback while it lasted (at its end)
    affected_calls = models.PositiveIntegerField(null=True, blank=True)  # health.traffic, counted at its end
    total_calls = models.PositiveIntegerField(null=True, blank=True)
    served_by = models.JSONField(default=dict, blank=True)  # {provider: real-traffic calls served}, at its end
    quiet = models.BooleanField(default=False)  # a model's incident while its provider is down: no alerts
    closed_because = models.CharField(max_length=200, blank=True)  # "" when the target recovered
    opened_alert_sent_at = models.DateTimeField(null=True, blank=True)
    closed_alert_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.provider_name}/{self.model or '*'} {self.cause} from {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def target(self):
        return f"{self.provider_name} / {self.model}" if self.model else self.provider_name

    def duration(self, now=None):
        return (self.ended_at or now or timezone.now()) - self.started_at

    @property
    def traffic_share(self):
        """Percent of real-traffic attempts that failed at this target while it lasted (None: no traffic)."""
        if not self.total_calls:
            return None
        return 100.0 * (self.affected_calls or 0) / self.total_calls

    @property
    def served_by_text(self):
        """Where the traffic went, e.g. "bedrock (120 calls), anthropic (3 calls)"."""
        return ", ".join(f"{name} ({calls} call{'s' if calls != 1 else ''})"
                         for name, calls in (self.served_by or {}).items())

    @property
    def from_traffic(self):
        return self.opened_by == "traffic"

    @property
    def duration_minutes(self):
        return self.duration().total_seconds() / 60
