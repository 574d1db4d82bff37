"""The built browser app served at / with history fallback, beside the proxied routes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

INDEX = (
    b'<!doctype html><html><body><div id="root"></div>'
    b'<script src="/assets/app-1a2b.js"></script></body></html>'
)
ASSET = b"console.log('app');"
# What the build writes beside it (frontend/vite.config.ts); the gateway never compresses.
ASSET_BR = b"brotli bytes of the app"
ASSET_GZ = b"gzip bytes of the app"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "app-1a2b.js").write_bytes(ASSET)
    (root / "assets" / "app-1a2b.js.br").write_bytes(ASSET_BR)
    (root / "assets" / "app-1a2b.js.gz").write_bytes(ASSET_GZ)
    (root / "favicon.svg").write_bytes(b"<svg/>")
    return root


@pytest.fixture(scope="module")
def spa_gateway(start_gateway, test_gateway_env, dist):
    return start_gateway({**test_gateway_env, "FRONTEND_DIST": str(dist)})


@pytest.mark.parametrize("path", ["/", "/orders/42", "/catalog?q=lamp", "/account/orders/new"])
def test_deep_links_get_index_html_uncached(spa_gateway, path):
    reply = spa_gateway.request("GET", path)
    assert reply.status == 200
    assert reply.body == INDEX
    assert reply.header("content-type") == "text/html; charset=utf-8"
    assert reply.header("cache-control") == "no-cache"
    assert reply.header("x-request-id")
    assert reply.header("x-content-type-options") == "nosniff"


def test_hashed_assets_are_immutable(spa_gateway):
    reply = spa_gateway.request("GET", "/assets/app-1a2b.js")
    assert reply.status == 200
    assert reply.body == ASSET
    assert reply.header("content-type").startswith("text/javascript")
    assert reply.header("cache-control") == "public, max-age=31536000, immutable"
    assert reply.header("content-length") == str(len(ASSET))


@pytest.mark.parametrize(
    ("accept", "coding", "body"),
    [
        ("gzip, deflate, br, zstd", "br", ASSET_BR),
        ("gzip", "gzip", ASSET_GZ),
        ("br;q=0, gzip;q=0.8", "gzip", ASSET_GZ),
        ("identity", None, ASSET),
        (None, None, ASSET),
    ],
)
def test_the_prebuilt_variant_the_browser_accepts_is_sent(spa_gateway, accept, coding, body):
    headers = [("Accept-Encoding", accept)] if accept else []
    reply = spa_gateway.request("GET", "/assets/app-1a2b.js", headers=headers)
    assert reply.status == 200 and reply.body == body
    assert reply.header("content-encoding") == coding
    assert reply.header("content-length") == str(len(body))
    assert reply.header("vary") == "Accept-Encoding"
    assert reply.header("content-type").startswith("text/javascript")
    # Each variant revalidates by its own ETag.
    again = spa_gateway.request(
        "GET", "/assets/app-1a2b.js", headers=[*headers, ("If-None-Match", reply.header("etag"))]
    )
    assert again.status == 304


def test_variants_are_not_files_of_their_own_and_others_have_no_vary(spa_gateway):
    reply = spa_gateway.request("GET", "/favicon.svg", headers=[("Accept-Encoding", "br")])
    assert reply.header("content-encoding") is None and reply.header("vary") is None
    assert spa_gateway.request("GET", "/assets/app-1a2b.js.br").status == 404


def test_other_files_of_the_build_are_served_uncached(spa_gateway):
    reply = spa_gateway.request("GET", "/favicon.svg")
    assert reply.status == 200 and reply.body == b"<svg/>"
    assert reply.header("content-type") == "image/svg+xml"
    assert reply.header("cache-control") == "no-cache"


def test_a_missing_asset_is_a_404_not_the_app(spa_gateway):
    reply = spa_gateway.request("GET", "/assets/old-0000.js")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_head_and_etag_revalidation(spa_gateway):
    head = spa_gateway.request("HEAD", "/account")
    assert head.status == 200 and head.body == b""
    etag = spa_gateway.request("GET", "/").header("etag")
    again = spa_gateway.request("GET", "/cart", headers=[("If-None-Match", etag)])
    assert again.status == 304 and again.body == b""


def test_routes_still_win(spa_gateway):
    # /api/ is proxied to the echo upstream in the test route table.
    reply = spa_gateway.request("GET", "/api/users/7")
    assert reply.status == 200
    assert reply.json()["path"] == "/api/users/7"
    # The gateway's own endpoints too.
    assert spa_gateway.request("GET", "/health/live").status == 200


def test_only_get_and_head_fall_back(spa_gateway):
    reply = spa_gateway.request("POST", "/somewhere", body=b"{}")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_unknown_api_paths_keep_the_json_404(mainapp_spa_gateway):
    reply = mainapp_spa_gateway.request("GET", "/api/nothing-here")
    assert reply.status == 404
    assert reply.header("content-type") == "application/json"
    assert mainapp_spa_gateway.request("GET", "/somewhere/deep").body == INDEX


@pytest.fixture(scope="module")
def mainapp_spa_gateway(start_gateway, echo_server, keyring_server, dist):
    """The shipped routes.toml (no catch-all /api/ route) with the SPA."""
    return start_gateway(
        {
            "MAINAPP_URL": echo_server[1].url,
            "CATALOG_URL": echo_server[1].url,
            "ORDERS_URL": echo_server[1].url,
            "JWKS_URL": keyring_server[1].url + "/jwks",
            "FRONTEND_DIST": str(dist),
        }
    )


def test_a_rebuild_is_picked_up(start_gateway, test_gateway_env, tmp_path):
    (tmp_path / "index.html").write_bytes(b"<p>v1</p>")
    gateway = start_gateway({**test_gateway_env, "FRONTEND_DIST": str(tmp_path)})
    assert gateway.request("GET", "/x").body == b"<p>v1</p>"
    time.sleep(0.05)
    (tmp_path / "index.html").write_bytes(b"<p>v2</p>")
    deadline = time.monotonic() + 5
    while gateway.request("GET", "/x").body != b"<p>v2</p>":
        assert time.monotonic() < deadline, "the new build was not served"
        time.sleep(0.2)


def test_a_dist_without_index_stops_the_gateway(start_gateway, test_gateway_env, tmp_path):
    with pytest.raises(RuntimeError, match=r"index\.html"):
        start_gateway({**test_gateway_env, "FRONTEND_DIST": str(tmp_path)})


def test_spa_requests_are_counted_under_one_label(spa_gateway):
    spa_gateway.request("GET", "/counted/page")
    text = spa_gateway.request("GET", "/metrics").body.decode()
    assert 'gateway_requests_total{method="GET",route="spa",status="200"}' in text
    assert "/counted/page" not in text  # never a label per path
