"""The browser app's files through the gateway: a real robots.txt (not the app's HTML), and deep
links still answered with the app."""

from __future__ import annotations


def test_robots_txt_is_a_robots_file(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("# The shop's pages may be indexed")
    assert "Disallow: /api/" in response.text.splitlines()


def test_a_deep_link_is_answered_with_the_app(client):
    response = client.get("/orders/some-order")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<div id="root">' in response.text
