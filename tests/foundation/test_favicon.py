import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_static_icon_without_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("/static/favicon.ico")
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content])[:4] == b"\x00\x00\x01\x00"


def test_pages_link_the_icon(staff_client):
    html = staff_client.get("/accounts/login/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'rel="icon" href="/static/favicon.ico"' in html
