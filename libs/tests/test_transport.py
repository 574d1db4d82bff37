"""The Redis transport (msh_events.transport) against a real Redis: its connection-loss race, and
one client per channel."""

from __future__ import annotations

import time

import pytest
from kombu.transport import redis as kombu_redis

from devstack.servers import RedisServer
from msh_events.celery_app import make_celery_app
from msh_events.config import EventsConfig
from msh_events.transport import Transport


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis") / "data", durable=False)
    server.start()
    yield server.url
    server.stop()


def hold_one_message(app, queue: str):
    """A connection whose channel holds one message unacknowledged, as a worker's does."""
    connection = app.connection_for_read()
    simple = connection.SimpleQueue(queue)
    simple.put({"n": 1})
    message = simple.get(timeout=5)
    assert message.payload == {"n": 1}
    return connection, simple.channel


def comes_back(app, queue: str, payload: dict, within: float = 10.0) -> None:
    """The unacknowledged message returns to ``queue`` once its visibility timeout passed: a
    restore sweep, as a worker's, is run until it does (or ``within`` seconds pass)."""
    deadline = time.monotonic() + within
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        queue_ = connection.SimpleQueue(queue)
        while True:
            channel.qos.restore_visible()
            try:
                again = queue_.get(timeout=0.2)
            except queue_.Empty:
                assert time.monotonic() < deadline, f"{payload} never came back to {queue}"
                continue
            assert again.payload == payload
            again.ack()
            return


def lose_the_client(channel) -> None:
    """What kombu's connection-loss path leaves behind in the race: no pool, no client."""
    channel._pool = None
    channel.connection.client = None


def test_celery_apps_use_the_mended_transport(redis_url):
    app = make_celery_app("transport-test", redis_url)
    with app.connection_for_read() as connection:
        assert isinstance(connection.transport, Transport)


def test_kombu_alone_crashes_on_the_race(redis_url):
    """The bug being mended: closing the channel raises instead of giving up the restore."""
    app = make_celery_app("transport-test", redis_url)
    app.conf.broker_transport = "redis"
    connection, channel = hold_one_message(app, "race-kombu")
    assert type(connection.transport) is kombu_redis.Transport
    lose_the_client(channel)
    with pytest.raises(AttributeError, match="hostname"):
        channel.close()


def test_the_race_is_survived_and_the_message_comes_back(redis_url):
    app = make_celery_app("transport-test", redis_url, EventsConfig(visibility_timeout=1))
    _, channel = hold_one_message(app, "race-mended")
    lose_the_client(channel)
    channel.close()  # no exception: the worker would go on to reconnect
    comes_back(app, "race-mended", {"n": 1})


def test_an_acknowledgement_after_the_race_is_skipped_and_the_message_comes_back(redis_url):
    """A task that finished after its channel lost the connection acknowledges on it."""
    app = make_celery_app("transport-test", redis_url, EventsConfig(visibility_timeout=1))
    connection = app.connection_for_read()
    simple = connection.SimpleQueue("race-ack")
    simple.put({"n": 2})
    message = simple.get(timeout=5)
    channel = simple.channel
    lose_the_client(channel)
    channel.close()  # the consumer's connection-loss path; the restore is skipped
    assert channel.connection is None
    message.ack()  # no exception: the worker goes on
    comes_back(app, "race-ack", {"n": 2})


def test_a_channel_keeps_one_client_while_its_pool_stands(redis_url):
    app = make_celery_app("transport-test", redis_url)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        producer = connection.Producer()
        for n in range(3):
            producer.publish({"n": n}, routing_key="one-client", declare=[])
        client = channel._create_client()
        assert channel._create_client() is client
        assert client.llen("one-client") == 3
        channel._pool = None  # kombu's connection-loss path drops the pool
        again = channel._create_client()
        assert again is not client and again.connection_pool is channel._pool
        assert again.llen("one-client") == 3
