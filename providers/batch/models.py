"""Batch jobs submitted through Moments Admin, and each request's result once the job has ended."""
from django.conf import settings
from django.db import models

COST = {"max_digits": 18, "decimal_places": 6, "null": True, "blank": True}
STATES = ("in_progress", "canceling", "ended")
SOURCES = ("upload", "client", "cli")


class BatchJob(models.Model):
    name = models.CharField(max_length=100, blank=True)
    provider_name = models.CharField(max_length=100)
    provider_kind = models.CharField(max_length=20)
    provider_batch_id = models.CharField(max_length=300, unique=True)  # msgbatch_... or a job ARN
    model_id = models.CharField(max_length=300, blank=True)
    agent = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=10, default="upload")
    state = models.CharField(max_length=16, default="in_progress")
    provider_status = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # processing + each outcome
    # custom_id -> the changes made to that request at submission to suit its model, only for requests
    # that were changed; each result's usage record carries its own (UsageRecord.adaptations).
    adaptations = models.JSONField(default=dict, blank=True)
    polls = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    results_stored = models.BooleanField(default=False)  # results read and usage recorded (exactly once)
    cost_usd = models.DecimalField(**COST)  # at batch prices
    on_demand_cost_usd = models.DecimalField(**COST)  # the same tokens at on-demand prices
    unpriced = models.PositiveIntegerField(default=0)  # results whose model has no price
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name or self.provider_batch_id} ({self.state})"

    @property
    def done(self):
        return sum(v for k, v in self.counts.items() if k != "processing")

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def saving_usd(self):
        if self.cost_usd is None or self.on_demand_cost_usd is None:
            return None
        return self.on_demand_cost_usd - self.cost_usd


class BatchRequestResult(models.Model):
    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="results")
    custom_id = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16)  # succeeded | errored | canceled | expired
    message = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    input_tokens = models.IntegerField(default=0)  # every input kind
    output_tokens = models.IntegerField(default=0)
    cost_usd = models.DecimalField(**COST)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["job", "custom_id"], name="batch_result_unique")]

    def __str__(self):
        return f"{self.custom_id}: {self.outcome}"
