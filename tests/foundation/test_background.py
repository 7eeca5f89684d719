"""providers.background.Worker: jobs run in order on one thread, a failing job does not stop the rest,
and wait() tells whether everything ran."""
import threading

from providers.background import Worker


def test_jobs_run_in_order_and_a_failure_does_not_stop_the_rest(caplog):
    worker, seen = Worker("test-order"), []

    def fail():
        raise RuntimeError("boom")

    for number in range(50):
        worker.submit(seen.append, number)
        if number == 10:
            worker.submit(fail)
    assert worker.wait(5) is True
    assert seen == list(range(50))
    assert "test-order: test_jobs_run_in_order_and_a_failure_does_not_stop_the_rest.<locals>.fail failed" in caplog.text


def test_wait_with_a_timeout_says_when_a_job_is_still_running():
    worker, release = Worker("test-stall"), threading.Event()
    worker.submit(release.wait, 5)
    assert worker.wait(0.05) is False
    release.set()
    assert worker.wait(5) is True
