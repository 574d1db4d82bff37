"""JSON over 1 KiB goes gzipped when the client takes gzip; nothing else is touched."""

from __future__ import annotations

import gzip
import json

from gateway.compression import accepted_codings

PAD = [("X-Pad", "a" * 2000)]  # the echo upstream answers its request's headers: > 1 KiB


def test_json_over_a_kibibyte_goes_gzipped_when_the_client_takes_it(gateway):
    plain = gateway.request("GET", "/api/hop", PAD)
    assert plain.status == 200 and plain.header("content-encoding") is None
    zipped = gateway.request("GET", "/api/hop", [*PAD, ("Accept-Encoding", "br, gzip")])
    assert zipped.status == 200
    assert zipped.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in zipped.header("vary")
    assert zipped.header("content-type").startswith("application/json")
    assert int(zipped.header("content-length")) == len(zipped.body) < len(plain.body) / 4
    echoed = json.loads(gzip.decompress(zipped.body))
    assert echoed["path"] == json.loads(plain.body)["path"]


def test_small_head_refused_or_unasked_answers_stay_as_they_are(gateway):
    small = gateway.request("GET", "/api/hop", [("Accept-Encoding", "gzip")])
    assert small.status == 200 and small.header("content-encoding") is None
    refused = gateway.request("GET", "/api/hop", [*PAD, ("Accept-Encoding", "gzip;q=0, br")])
    assert refused.header("content-encoding") is None
    head = gateway.request("HEAD", "/api/hop", [*PAD, ("Accept-Encoding", "gzip")])
    assert head.status == 200 and head.header("content-encoding") is None and head.body == b""


def test_accept_encoding_is_read_with_its_weights():
    def codings(value: str) -> set[bytes]:
        return accepted_codings([(b"accept-encoding", value.encode())])

    assert codings("gzip, deflate, br") == {b"gzip", b"deflate", b"br"}
    assert codings("br;q=0, GZIP;q=0.5") == {b"gzip"}
    assert codings("gzip; q=0.000") == set()
    assert accepted_codings([]) == set()
