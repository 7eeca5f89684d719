import os

from celery import Celery

from moments_admin import dotenv

dotenv.load()  # .env at the project root; the real environment wins
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moments_admin.settings")

app = Celery("moments_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender, **kwargs):
    from moments_admin.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
