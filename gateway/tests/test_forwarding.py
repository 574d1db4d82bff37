"""What the upstream receives, and what the client gets back, byte for byte."""

from __future__ import annotations

import http.client
import json

import pytest


def _headers(echoed: dict) -> dict[str, str]:
    return dict(echoed["headers"])


def test_path_and_query_are_forwarded_unchanged(gateway):
    path = "/api/items/a%20b/%7Euser/x%2Fy;p=1/caf%C3%A9"
    query = "q=%20a+b&q=2&empty=&flag&enc=%E2%9C%93&slash=/?"
    echoed = gateway.request("GET", f"{path}?{query}").json()
    assert echoed["method"] == "GET"
    assert echoed["path"] == path
    assert echoed["query"] == query


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_method_and_body_are_forwarded_with_a_content_length(gateway, method):
    body = bytes(range(256)) * 4
    echoed = gateway.request(
        method, "/api/things", [("Content-Type", "application/octet-stream")], body
    ).json()
    assert echoed["method"] == method
    assert echoed["body"].encode("latin-1") == body
    headers = _headers(echoed)
    assert headers["content-length"] == str(len(body))
    assert headers["content-type"] == "application/octet-stream"


def test_chunked_request_body_is_sent_upstream_with_a_content_length(gateway):
    # Django under gunicorn reads an empty body from a chunked request.
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    conn.request(
        "POST",
        "/api/chunked",
        body=iter([b'{"a": ', b"1}"]),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    echoed = json.loads(conn.getresponse().read())
    conn.close()
    headers = _headers(echoed)
    assert echoed["body"] == '{"a": 1}'
    assert headers["content-length"] == "8"
    assert "transfer-encoding" not in headers


def test_empty_post_is_sent_with_content_length_zero(gateway):
    echoed = gateway.request("POST", "/api/empty", body=b"").json()
    assert _headers(echoed)["content-length"] == "0"
    assert echoed["body"] == ""


def test_bodiless_get_gets_no_body_headers(gateway):
    headers = _headers(gateway.request("GET", "/api/plain").json())
    assert "content-length" not in headers
    assert "transfer-encoding" not in headers
    assert "content-type" not in headers


def test_client_headers_pass_through_and_nothing_is_invented(gateway):
    echoed = gateway.request(
        "GET",
        "/api/headers",
        [
            ("Authorization", "Bearer abc.def.ghi"),
            ("Cookie", "csrftoken=abc; sessionid=xyz"),
            ("Accept-Language", "de"),
            ("X-Custom", "one"),
            ("X-Custom", "two"),
        ],
    ).json()
    pairs = echoed["headers"]
    headers = dict(pairs)
    assert headers["authorization"] == "Bearer abc.def.ghi"
    assert headers["cookie"] == "csrftoken=abc; sessionid=xyz"
    assert headers["accept-language"] == "de"
    assert [value for name, value in pairs if name == "x-custom"] == ["one", "two"]
    # The HTTP client must not add defaults the client did not send.
    for invented in ("accept-encoding", "accept", "user-agent", "content-type"):
        assert invented not in headers


def test_non_ascii_header_bytes_are_forwarded_unchanged(gateway):
    value = "café ✓".encode().decode("latin-1")  # http.client sends str headers as latin-1
    echoed = gateway.request("GET", "/api/utf8", [("X-Name", value)]).json()
    assert dict(echoed["headers"])["x-name"] == value


def test_head_request(gateway):
    reply = gateway.request("HEAD", "/api/head")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.header("content-length")) > 0


def test_compressed_response_passes_through_untouched(gateway, echo):
    reply = gateway.request("GET", "/api/gzip", [("Accept-Encoding", "gzip")])
    assert reply.status == 200
    assert reply.header("content-encoding") == "gzip"
    assert reply.body == echo.gzip_body
    assert reply.header("content-length") == str(len(echo.gzip_body))


def test_redirects_are_not_followed_and_cookies_are_all_kept(gateway):
    reply = gateway.request("POST", "/api/admin/login/cookies", body=b"user=a")
    assert reply.status == 302
    assert reply.header("location") == "/admin/login/?next=/admin/"
    assert reply.header_all("set-cookie") == [
        (
            "csrftoken=abc123; expires=Wed, 21 Oct 2026 07:28:00 GMT; Max-Age=31449600; Path=/; "
            "SameSite=Lax"
        ),
        "sessionid=s3ss10n; HttpOnly; Path=/; SameSite=Lax",
        "messages=; Max-Age=0; Path=/",
    ]


def test_upstream_cookies_are_not_replayed_to_other_requests(gateway):
    # The gateway's HTTP client must not keep a cookie jar: it would hand one user's
    # session to the next. (Cookie jars ignore IP-address hosts, hence a host name.)
    assert gateway.request("GET", "/named/set/cookies").status == 302
    headers = dict(gateway.request("GET", "/named/after-cookies").json()["headers"])
    assert "cookie" not in headers


def test_upstream_error_responses_pass_through_unchanged(gateway):
    reply = gateway.request("GET", "/api/teapot")
    assert reply.status == 418
    assert reply.header("content-type") == "text/html"
    assert reply.body == b"<h1>I am a teapot</h1>"


def test_304_with_content_length_is_relayed(gateway):
    reply = gateway.request("GET", "/raw/not-modified")
    assert reply.status == 304
    assert reply.header("etag") == '"v1"'
    assert reply.body == b""


def test_head_requests_get_headers_only(gateway):
    reply = gateway.request("HEAD", "/api/head")
    assert reply.status == 200
    assert reply.body == b""
    assert gateway.request("GET", "/api/after-head").json()["path"] == "/api/after-head"


def test_pool_limit_queues_requests_within_the_pool_wait(start_gateway, test_gateway_env):
    import threading

    gateway = start_gateway(
        {**test_gateway_env, "UPSTREAM_MAX_CONNECTIONS": "1", "UPSTREAM_POOL_WAIT_SECONDS": "5"}
    )
    statuses: list[int] = []

    def call() -> None:
        statuses.append(gateway.request("GET", "/api/sleep/0.3").status)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    ports = {gateway.request("GET", "/api/port").json()["client_port"] for _ in range(3)}
    assert len(ports) == 1


def test_interim_responses_are_skipped(gateway):
    reply = gateway.request("GET", "/raw/early-hints")
    assert reply.status == 200
    assert reply.body == b"final"
