"""Reliable events between MicroServiceHub services.

The pieces, each in its own module:

* :mod:`.envelope` - the one event shape every service publishes and consumes;
* :mod:`.topology` - which service queues receive which event types;
* :mod:`.celery_app` - a Celery app configured for at-least-once delivery;
* :mod:`.outbox` - the store-agnostic transactional outbox relay;
* :mod:`.relay` - running it: after commit in a thread, and as the relay process;
* :mod:`.consumer` - idempotent consumption and dead letters;
* :mod:`.tasks` - the Celery task that ties a consumer to a queue.
"""

from .envelope import Event, InvalidEnvelope
from .outbox import OutboxRelay, log_relay_failure

__all__ = ["Event", "InvalidEnvelope", "OutboxRelay", "log_relay_failure"]
