"""Several instances behind one upstream: choosing one per request, and taking dead ones out.

An upstream's instances come from its ``<NAME>_URL`` (base URLs separated by commas) or, with
``discover = "dns"`` in the route table, from every address its host name resolves to,
re-resolved every ``DNS_REFRESH_SECONDS`` (a Kubernetes headless Service, compose's
``--scale``). Each instance has its own keep-alive pools and its own circuit breaker.

- Choosing: least outstanding requests between two instances drawn at random ("power of two
  choices"): nearly as good as scanning every instance for the least loaded, without the herd
  that always picking the single least-loaded one causes when several gateways share the
  instances. One instance skips the draw (the common case costs nothing).
- Passive health: a refused connection ejects an instance at once; ``BREAKER_FAILURE_THRESHOLD``
  transport failures in a row eject it too (its breaker opens). It takes traffic again once
  probed: by the active probe below, or, when no instance is in rotation, by one request after
  ``BREAKER_OPEN_SECONDS`` (half-open).
- Active health: with more than one instance, or with discovery, every instance's health path
  is probed every ``UPSTREAM_PROBE_SECONDS``: a failed probe ejects it, a passing one returns an
  ejected instance to rotation (a single instance keeps the breaker's own half-open probe).
- When every instance is ejected the upstream is unavailable: 503 with ``Retry-After`` from
  the breakers, as a single instance's open breaker answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.upstream import UpstreamBusy, UpstreamError, UpstreamPools
from msh_common.breaker import CLOSED, OPEN, BreakerOpen, CircuitBreaker

logger = logging.getLogger("gateway.balancer")


@dataclass(frozen=True, slots=True)
class Target:
    """Where one instance answers: what to connect to, and what to put in ``Host``."""

    scheme: str
    host: str  # a name or an address to connect to
    port: int
    host_header: bytes  # the configured name, also for an address found by DNS
    base_path: bytes

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def target_of(base_url: str) -> Target:
    """The target of a validated base URL (``http://catalog:8002/prefix``)."""
    url = urlsplit(base_url)
    host = url.hostname or ""
    default_port = 443 if url.scheme == "https" else 80
    port = url.port or default_port
    header = url.netloc.rpartition("@")[2]
    return Target(
        url.scheme, host, port, header.encode("idna"), url.path.rstrip("/").encode("latin-1")
    )


class Instance:
    """One instance of an upstream: its pools, its breaker, its requests in flight, and its
    counters (requests, transport failures)."""

    __slots__ = ("breaker", "failures", "outstanding", "pool", "requests", "stream_pool", "target")

    def __init__(
        self,
        target: Target,
        pools: UpstreamPools,
        breaker: CircuitBreaker,
        counters: tuple[Any, Any] = (None, None),
    ) -> None:
        self.target = target
        self.pool = pools.pool(target.scheme, target.host, target.port)
        self.stream_pool = pools.pool(target.scheme, target.host, target.port, stream=True)
        self.breaker = breaker
        self.requests, self.failures = counters
        self.outstanding = 0

    @property
    def label(self) -> str:
        return self.target.label

    def eject(self) -> None:
        """Out of rotation now (connection refused, failed probe) until probed again."""
        self.breaker.trip()

    def close(self) -> None:
        self.pool.close()
        self.stream_pool.close()


InstanceFactory = Callable[[Target], Instance]


class Balancer:
    """The instances of one upstream, and the choice among them."""

    def __init__(
        self,
        name: str,
        targets: Iterable[Target],
        make_instance: InstanceFactory,
        *,
        discover: bool = False,
        forget: Callable[[Target], None] = lambda target: None,
    ) -> None:
        self.name = name
        self.discover = discover
        self._forget = forget  # an instance is gone for good: drop what is kept about it
        self.seeds = tuple(targets)  # as configured: names to resolve when discovering
        self._make_instance = make_instance
        self.instances: list[Instance] = []
        self.set_targets(self.seeds)

    @property
    def probed(self) -> bool:
        """Whether instances are probed actively (one static instance keeps its breaker only)."""
        return self.discover or len(self.instances) > 1

    def set_targets(self, targets: Iterable[Target]) -> None:
        """The instances are now ``targets``: known ones keep their state, gone ones close."""
        known = {instance.target: instance for instance in self.instances}
        wanted = list(dict.fromkeys(targets))
        if not wanted:
            return  # never drop the last known instances on an empty answer
        instances = [
            known.pop(target) if target in known else self._make_instance(target)
            for target in wanted
        ]
        for gone in known.values():
            gone.close()
            self._forget(gone.target)
        if [i.target for i in instances] != [i.target for i in self.instances]:
            logger.info("upstream %s instances: %s", self.name, [i.label for i in instances])
        self.instances = instances

    def choose(self, avoid: Instance | None = None) -> Instance:
        """An instance for the next request (not ``avoid``, the one that just failed, when
        another can be had); raises :class:`BreakerOpen` when none may take it."""
        instances = self.instances
        if len(instances) == 1 and avoid is None:
            instance = instances[0]
            instance.breaker.allow()
            return instance
        ready = [i for i in instances if i.breaker.state == CLOSED and i is not avoid]
        if len(ready) >= 2:
            first, second = random.sample(ready, 2)
            return first if first.outstanding <= second.outstanding else second
        if ready:
            return ready[0]
        return self._probe_candidate(avoid)

    def _probe_candidate(self, avoid: Instance | None) -> Instance:
        """No instance is in rotation: one whose ejection is over may take the request as its
        probe; else the shortest wait is reported."""
        retry_after: int | None = None
        for instance in sorted(self.instances, key=lambda i: i is avoid):
            try:
                instance.breaker.allow()
            except BreakerOpen as exc:
                retry_after = min(retry_after or exc.retry_after, exc.retry_after)
                continue
            return instance
        raise BreakerOpen(retry_after or 1)

    @property
    def state(self) -> int:
        """The upstream's breaker state: closed while any instance is, else the best one."""
        return min((instance.breaker.state for instance in self.instances), default=OPEN)

    def close(self) -> None:
        for instance in self.instances:
            instance.close()


async def resolve(target: Target) -> list[Target]:
    """Every address ``target``'s host resolves to, as targets with the same ``Host``."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    addresses = dict.fromkeys(str(info[4][0]) for info in infos)
    return [
        Target(target.scheme, address, target.port, target.host_header, target.base_path)
        for address in addresses
    ]


async def rediscover(balancer: Balancer) -> None:
    """Resolve a discovering upstream's names once; a failed lookup keeps what was known."""
    found: list[Target] = []
    for seed in balancer.seeds:
        try:
            found += await resolve(seed)
        except OSError as exc:
            logger.warning("cannot resolve %s for %s: %s", seed.host, balancer.name, exc)
    balancer.set_targets(found)


async def probe_instance(instance: Instance, health_path: str, seconds: float) -> bool:
    """GET the instance's health path on its own pool; eject it unless the answer is 200."""
    target = instance.target
    path = target.base_path + health_path.encode("latin-1")
    head = b"GET %s HTTP/1.1\r\nhost: %s\r\nuser-agent: msh-gateway-probe" % (
        path,
        target.host_header,
    )
    try:
        async with asyncio.timeout(seconds):
            response = await instance.pool.request(
                head, b"", is_head=False, connect_timeout=seconds, read_timeout=seconds
            )
            while await response.read_chunk():
                pass
            response.release()
        healthy = response.status == 200
    except (UpstreamError, UpstreamBusy, TimeoutError):
        healthy = False
    if healthy:
        if instance.breaker.state != CLOSED:
            logger.info("instance %s passed its health probe: back in rotation", instance.label)
            instance.breaker.success()  # this probe is the one an ejected instance waits for
    elif instance.breaker.state != OPEN:
        logger.warning("instance %s failed its health probe: ejected", instance.label)
        instance.eject()
    return healthy


class HealthWatch:
    """The background work of balanced upstreams: DNS refreshes and active probes."""

    def __init__(
        self,
        balancers: Iterable[tuple[Balancer, str]],
        *,
        dns_refresh_seconds: float,
        probe_seconds: float,
        probe_timeout: float,
    ) -> None:
        self._balancers = [(b, path) for b, path in balancers if b.probed]
        self.dns_refresh_seconds = dns_refresh_seconds
        self.probe_seconds = probe_seconds
        self.probe_timeout = probe_timeout
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Resolve discovering upstreams once before traffic, then keep watching."""
        for balancer, _ in self._balancers:
            if balancer.discover:
                await rediscover(balancer)
        if any(balancer.discover for balancer, _ in self._balancers):
            self._tasks.append(asyncio.create_task(self._refresh_forever(), name="dns-refresh"))
        if self._balancers:
            self._tasks.append(asyncio.create_task(self._probe_forever(), name="health-probes"))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.dns_refresh_seconds)
            for balancer, _ in self._balancers:
                if balancer.discover:
                    await rediscover(balancer)

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.probe_seconds)
            await asyncio.gather(
                *(
                    probe_instance(instance, path, self.probe_timeout)
                    for balancer, path in self._balancers
                    for instance in balancer.instances
                )
            )

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
