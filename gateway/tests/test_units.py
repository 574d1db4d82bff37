"""Pure parts of the edge, without servers: rate arithmetic, breaker states, trace parsing."""

from __future__ import annotations

import pytest

from gateway.forwarding import ClientAddressResolver
from gateway.ratelimit import RateLimiter
from gateway.settings import Rate, Settings
from gateway.tracing import start_trace
from msh_common.breaker import CLOSED, HALF_OPEN, OPEN, BreakerOpen, CircuitBreaker


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "rate"),
    [("600/minute", Rate(600, 60)), ("10/s", Rate(10, 1)), ("5 / hours", Rate(5, 3600))],
)
def test_rates_parse(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["600", "0/minute", "10/fortnight", "x/minute"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="not a rate"):
        Rate.parse(text)


def test_rate_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_STRICT", "3/minute")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example/,https://b.example")
    settings = Settings()
    assert settings.rate_limit_strict == Rate(3, 60)
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.168.1.1/32"]
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]


def test_sliding_window_counts_the_previous_window_by_its_remaining_share():
    clock = Clock(600.0)  # the start of a one-minute window
    limiter = RateLimiter({"c": Rate(10, 60)}, None, clock=clock)
    assert all(limiter.hit("c", "k").allowed for _ in range(10))
    refused = limiter.hit("c", "k")
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after >= 60  # this window is full: wait for the next one
    clock.now = 660.0 + 30  # half-way through the next window: 10 * 0.5 = 5 still weigh
    decisions = [limiter.hit("c", "k") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[0].remaining == 4
    assert 1 <= decisions[-1].retry_after <= 30
    assert decisions[-1].reset == 30
    clock.now = 840.0  # two windows later: nothing weighs any more
    assert limiter.hit("c", "k").remaining == 9


def test_keys_are_counted_apart():
    limiter = RateLimiter({"c": Rate(1, 60)}, None, clock=Clock())
    assert limiter.hit("c", "a").allowed
    assert not limiter.hit("c", "a").allowed
    assert limiter.hit("c", "b").allowed


def test_breaker_state_machine():
    clock = Clock()
    changes = []
    breaker = CircuitBreaker(
        "svc",
        threshold=2,
        open_seconds=5,
        clock=clock,
        on_change=lambda name, state: changes.append(state),
    )
    breaker.allow()
    breaker.failure()
    breaker.success()  # a success resets the count
    breaker.failure()
    assert breaker.state == CLOSED
    breaker.failure()
    assert breaker.state == OPEN
    with pytest.raises(BreakerOpen) as refused:
        breaker.allow()
    assert refused.value.retry_after == 5
    clock.now += 5
    breaker.allow()  # the probe
    assert breaker.state == HALF_OPEN
    with pytest.raises(BreakerOpen):
        breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == OPEN
    clock.now += 5
    breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED
    assert changes == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


def test_a_lost_probe_does_not_block_the_breaker_forever():
    clock = Clock()
    breaker = CircuitBreaker("svc", threshold=1, open_seconds=1, clock=clock)
    breaker.failure()
    clock.now += 1
    breaker.allow()  # a probe whose client left: it never reports back
    clock.now += 1
    breaker.allow()  # the next one may probe


def test_trace_parsing():
    trace = start_trace(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", b"k=v")
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.traceparent.endswith("-00")  # not sampled stays not sampled
    assert trace.continued and trace.tracestate == b"k=v"
    future = start_trace(b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-extra", None)
    assert future.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert future.traceparent.startswith("00-") and future.traceparent.endswith("-01")
    fresh = start_trace(None, b"k=v")
    assert not fresh.continued and fresh.tracestate is None
    assert fresh.trace_id != start_trace(None, None).trace_id


def test_client_address_resolution():
    import ipaddress

    resolver = ClientAddressResolver([ipaddress.ip_network("10.0.0.0/8")])
    assert resolver.client("10.0.0.1", [b"1.2.3.4"]) == "1.2.3.4"
    assert resolver.client("10.0.0.1", [b"1.2.3.4, 10.0.0.2"]) == "1.2.3.4"
    assert resolver.client("10.0.0.1", [b"1.2.3.4", b"5.6.7.8"]) == "5.6.7.8"
    assert resolver.client("10.0.0.1", [b"10.0.0.3"]) == "10.0.0.3"  # all trusted: leftmost
    assert resolver.client("192.0.2.1", [b"1.2.3.4"]) == "192.0.2.1"
    assert resolver.client("10.0.0.1", [b"[2001:db8::1]"]) == "2001:db8::1"
