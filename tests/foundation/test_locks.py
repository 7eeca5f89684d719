"""Job locks with owners: one holder at a time, renewed while held, never released by another run."""
import os
import time

import pytest
import redis
from django.db import connection

from moments_admin.locks import AdvisoryLock, CacheLock, RedisLock, job_lock, make_lock

pytestmark = pytest.mark.django_db(transaction=True)
TTL = 3.0  # the database cache stores expiry times to the whole second
REDIS_URL = os.environ.get("USAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")


def redis_lock(name, ttl):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return RedisLock(name, ttl, client)


@pytest.fixture(params=["cache", "redis"])
def renewed_lock(request):
    """A factory of locks of one kind on one name (the Redis key is deleted afterwards)."""
    made = []

    def factory(ttl):
        lock = CacheLock("test-job", ttl) if request.param == "cache" else redis_lock("test-job", ttl)
        made.append(lock)
        return lock

    yield factory
    for lock in made:
        if isinstance(lock, RedisLock):
            lock.client.delete(lock.key)


def test_one_holder_at_a_time_and_the_holder_renews_past_the_ttl(renewed_lock):
    first, second = renewed_lock(ttl=TTL), renewed_lock(ttl=TTL)
    assert first.acquire()
    time.sleep(TTL + 0.5)  # longer than the TTL: only renewal keeps it
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_release_never_frees_a_lock_someone_else_holds(renewed_lock):
    first, second = renewed_lock(ttl=TTL), renewed_lock(ttl=TTL)
    assert first.acquire()
    first._stop.set()  # as if its holder hung: no more renewal
    time.sleep(TTL + 1.2)  # the database cache compares whole seconds
    assert second.acquire()  # the TTL freed it
    first.release()  # late: must not delete the second run's lock
    assert not renewed_lock(ttl=TTL).acquire()
    second.release()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_postgresql_uses_an_advisory_lock_held_by_its_own_connection():
    assert isinstance(make_lock("test-job"), AdvisoryLock)
    with job_lock("test-job") as held:
        assert held
        with job_lock("test-job") as again:
            assert not again  # even from the same process: the lock is on a connection of its own
    with job_lock("test-job") as held:
        assert held
