"""Two replicas of orders and of catalog (web and worker each), natively, behind the
gateway's balancing: the racing-checkout and cancel tests run again here, against them, and every
replica takes part. Nothing a replica needs lives in another one's memory: claims and
idempotency are in the databases, live status comes from PostgreSQL's notifications."""

from __future__ import annotations

import re

import pytest
from test_orders_concurrency import test_100_concurrent_checkouts_for_10_units_confirm_exactly_10
from test_orders_saga import staff, test_cancelling_a_confirmed_order_releases_its_stock

# The replayed tests (collected here too) and their fixture, against the replicated platform.
__all__ = [
    "staff",
    "test_100_concurrent_checkouts_for_10_units_confirm_exactly_10",
    "test_cancelling_a_confirmed_order_releases_its_stock",
]


@pytest.fixture(scope="module")
def stack(replicated_stack):
    return replicated_stack


def instance_requests(stack, client, upstream: str) -> dict[str, float]:
    text = client.get("/metrics").text
    pattern = re.compile(
        rf'^gateway_upstream_instance_requests_total\{{instance="([^"]+)",upstream="{upstream}"\}}'
        r" (\S+)$",
        re.MULTILINE,
    )
    return {instance: float(count) for instance, count in pattern.findall(text)}


@pytest.mark.parametrize("upstream", ["catalog", "orders"])
def test_every_replica_took_requests(stack, client, upstream):
    # Runs after the replayed tests (pytest keeps the module's order: imports first).
    counts = instance_requests(stack, client, upstream)
    assert len(counts) == 2, counts
    assert all(count > 0 for count in counts.values()), counts


def test_both_workers_of_a_service_run_and_no_relay_process_does(stack):
    for service in ("catalog", "orders"):
        for name in (f"{service}-worker", f"{service}-worker-2"):
            assert stack.processes[name].alive, name
    assert not [name for name in stack.processes if "relay" in name]
