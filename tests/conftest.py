"""Shared fixtures: users of each role, and settings safe for tests."""
import pytest


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def staff_user(django_user_model, password):
    return django_user_model.objects.create_user("alice", "alice@example.test", password, is_staff=True)


@pytest.fixture
def member_user(django_user_model, password):
    return django_user_model.objects.create_user("bob", "bob@example.test", password, is_staff=False)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client
