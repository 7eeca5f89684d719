"""The tracker: one task per job that re-schedules itself with a growing countdown until the job ends."""
import logging

from celery import shared_task

from providers.batch import tracking

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def track_batch(self, job_id):
    delay = tracking.poll(job_id)
    if delay is not None and not self.request.is_eager:  # eager (tests, scripts): one poll, no loop
        track_batch.apply_async((job_id,), countdown=delay)
    return "ended" if delay is None else f"next poll in {delay:.0f}s"


@shared_task(ignore_result=True)
def track_open_batches():
    """A safety net on the beat: a job whose tracker was lost (broker restart) gets a new one."""
    import datetime

    from django.utils import timezone

    from providers.batch.models import BatchJob

    late = timezone.now() - datetime.timedelta(minutes=5)
    overdue = list(BatchJob.objects.filter(results_stored=False, next_poll_at__lt=late)
                   .values_list("pk", flat=True)[:100])
    for job_id in overdue:
        track_batch.delay(job_id)
    return f"{len(overdue)} overdue"
