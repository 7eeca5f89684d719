"""One provider migration, stored step by step so that any staff user can resume it."""
from django.conf import settings
from django.db import models

DIRECTIONS = (("to_bedrock", "Anthropic API to Amazon Bedrock"), ("to_anthropic", "Amazon Bedrock to Anthropic API"),
              ("bedrock_region", "Bedrock to Bedrock (region move)"))
STATUSES = (("in_progress", "In progress"), ("switched", "Switched"), ("rolled_back", "Rolled back"),
            ("cancelled", "Cancelled"))


class Migration(models.Model):
    direction = models.CharField(max_length=20, choices=DIRECTIONS)
    source = models.CharField(max_length=50)  # ProviderConfig.name
    target = models.CharField(max_length=50, blank=True)
    step = models.PositiveSmallIntegerField(default=1)  # 1..7
    data = models.JSONField(default=dict, blank=True)  # per step: {"mapping": {...}, "verification": {...}, ...}
    status = models.CharField(max_length=20, choices=STATUSES, default="in_progress")
    # [{"probe": name, "note": text, "user": username, "at": iso}] failures the operator accepted
    acknowledged = models.JSONField(default=list, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    switch_revision = models.PositiveIntegerField(null=True, blank=True)  # ConfigRevision made by the switch
    before_revision = models.PositiveIntegerField(null=True, blank=True)  # the one a rollback restores

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["status"], condition=models.Q(status="in_progress"),
                                               name="one_migration_in_progress")]

    def __str__(self):
        return f"#{self.pk} {self.source} → {self.target or '?'} ({self.status})"

    def step_data(self, name):
        return dict(self.data.get(name) or {})
