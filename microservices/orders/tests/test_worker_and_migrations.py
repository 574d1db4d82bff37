"""The real orders worker app consuming its queue, and the migrations themselves."""

from __future__ import annotations

import uuid
from decimal import Decimal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from celery.contrib.testing.worker import start_worker
from sqlalchemy import text

from msh_events import Event
from msh_events.publisher import CeleryPublisher
from orders.domain.pricing import PricedLine, PricedOrder
from orders.store import orders as order_store
from orders.store.models import Base


def test_the_worker_confirms_an_order_once_and_relays_order_confirmed(db, queued, wait_until):
    from orders import worker  # reads the environment the session's servers set

    priced = PricedOrder(lines=(PricedLine("p1", "Mug", Decimal("3"), 1),), currency="EUR")
    with worker.database().transaction() as session:
        order_id = order_store.insert_order(session, user_id=uuid.uuid4(), priced=priced).id
    reserved = Event(
        type="stock.reserved",
        data={"order_id": str(order_id), "lines": [{"product_id": "p1", "quantity": 1}]},
        producer="catalog",
    )
    publisher = CeleryPublisher(worker.app)
    publisher.publish(reserved)
    publisher.publish(reserved)  # delivered twice

    with start_worker(worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        wait_until(lambda: queued("mainapp"))
        wait_until(lambda: not queued("orders"))
    assert [e["type"] for e in queued("mainapp")] == ["order.confirmed"]
    with db.transaction() as session:
        assert order_store.get_order(session, order_id).status == "confirmed"


def test_the_worker_dead_letters_an_event_breaking_its_contract_at_once(db, wait_until):
    from orders import worker
    from orders.store.events import SqlDeadLetterStore

    bad = Event(type="stock.reserved", data={"order_id": "nope"}, producer="catalog")
    CeleryPublisher(worker.app).publish(bad)
    with start_worker(worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        [dead] = wait_until(lambda: SqlDeadLetterStore(db).pending())
    assert dead.event_id == bad.id and dead.attempts == 1
    assert "InvalidEnvelope" in dead.error


def test_the_models_and_the_migrations_agree(db, database):
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_the_migrations_go_down_and_up_again(alembic_cfg, database):
    database.engine.dispose()
    command.downgrade(alembic_cfg, "base")
    with database.engine.connect() as connection:
        tables = connection.execute(
            text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalar()
        assert tables == 0
    command.upgrade(alembic_cfg, "head")
    with database.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'orders_status_%'")
            ).scalar()
            == 2
        )
