"""The order state machine (docs/architecture.md, "The order saga").

    pending --stock.reserved--> confirmed --cancel--> cancelled
       |--stock.rejected--> rejected
       `--cancel--> cancelled

The same table is enforced by the database (a trigger refuses any other change of ``status``)
and every transition is a conditional UPDATE ``WHERE status IN (allowed sources)``, so a late or
duplicated event can never move an order backwards or twice.
"""

from __future__ import annotations

import enum


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# target -> the statuses it may be reached from
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PENDING}),
    OrderStatus.REJECTED: frozenset({OrderStatus.PENDING}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED}),
}

# No way out of these.
TERMINAL: frozenset[OrderStatus] = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})
# The saga has an outcome: a live-status stream ends here (a confirmed order only changes again
# when its owner cancels it, which the owner's own client knows about).
SETTLED: frozenset[OrderStatus] = frozenset({OrderStatus.CONFIRMED, *TERMINAL})


class InvalidTransition(Exception):
    """A change of status the state machine does not allow."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


def allowed_from(target: OrderStatus) -> frozenset[OrderStatus]:
    """The statuses ``target`` may be reached from (empty for ``pending``: only created)."""
    return TRANSITIONS.get(target, frozenset())


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return current in allowed_from(target)


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if not can_transition(current, target):
        raise InvalidTransition(current, target)


def legal_pairs() -> list[tuple[OrderStatus, OrderStatus]]:
    """Every (from, to) the machine allows; the migration's trigger encodes the same list."""
    return sorted((source, target) for target, sources in TRANSITIONS.items() for source in sources)
