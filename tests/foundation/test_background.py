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


def test_a_lingering_worker_runs_a_burst_inside_one_around_block_and_wait_cuts_the_linger_short():
    blocks, seen = [], []

    class Around:
        def __enter__(self):
            blocks.append([])

        def __exit__(self, *exc_info):
            blocks[-1].append("end")

    worker = Worker("test-linger", linger=60.0, around=Around)  # a minute: only wait() can end the linger
    for number in range(20):
        worker.submit(lambda n=number: (seen.append(n), blocks[-1].append(n)))
    assert worker.wait(10) is True, "wait() hurried the burst instead of letting it linger a minute"
    assert seen == list(range(20))
    assert blocks == [[*range(20), "end"]], "one around() block for the whole burst, closed after its jobs"


def test_a_failing_job_in_a_burst_is_logged_and_the_burst_still_ends_its_block(caplog):
    ended = []

    class Around:
        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            ended.append(exc_info[0])

    def fail():
        raise RuntimeError("boom")

    worker, seen = Worker("test-linger-fail", linger=60.0, around=Around), []
    worker.submit(seen.append, 1)
    worker.submit(fail)
    worker.submit(seen.append, 2)
    assert worker.wait(10) is True
    assert seen == [1, 2] and ended == [None]
    assert "test-linger-fail:" in caplog.text and "fail failed" in caplog.text


def test_a_forked_child_gets_its_own_queue_and_thread():
    """A Celery pool process is forked: the parent's queue (here with a job its thread holds) is not its."""
    import os

    worker, started, release = Worker("test-fork"), threading.Event(), threading.Event()
    worker.submit(lambda: (started.set(), release.wait(5)))
    assert started.wait(5)  # the parent's thread is inside this job when the child is forked
    pid = os.fork()
    if pid == 0:  # the child: its own queue, its own thread
        ran = []
        worker.submit(ran.append, 1)
        os._exit(0 if worker.wait(5) is True and ran == [1] else 1)
    release.set()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert worker.wait(5) is True
