"""The wizard's own URLs under /providers/migration/ (the page itself is providers:migration)."""
from django.urls import path

from providers.migration import new_target, views

app_name = "migration"

urlpatterns = [
    path("start/", views.start, name="start"),
    path("new-target/", new_target.new_target, name="new-target"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/go/", views.go, name="go"),
    path("<int:pk>/direction/", views.direction, name="direction"),
    path("<int:pk>/mapping/", views.check_mapping, name="mapping"),
    path("<int:pk>/mapping/fix/", views.fix_mapping, name="fix-mapping"),
    path("<int:pk>/job/<slug:name>/", views.start_job, name="start-job"),
    path("<int:pk>/job/<slug:name>/progress/", views.job_progress, name="job-progress"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/checklist/", views.checklist, name="checklist"),
    path("<int:pk>/switch/", views.switch, name="switch"),
    path("<int:pk>/rollback/", views.rollback, name="rollback"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/rollout/", views.rollout_step, name="rollout"),
    path("<int:pk>/rollout/stop/", views.rollout_stop, name="rollout-stop"),
    path("<int:pk>/rollout/live/", views.rollout_live, name="rollout-live"),
]
