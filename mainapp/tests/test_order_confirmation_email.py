"""The order.confirmed handler: the confirmation e-mail, to the customer's current address."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail

from mainapp.accounts.events import send_order_confirmation_email
from msh_events import Event

pytestmark = pytest.mark.django_db


def confirmed(user_id: object) -> Event:
    """The order.confirmed event orders writes for a one-line order of ``user_id``."""
    line = {
        "product_id": "p1",
        "name": "Red mug",
        "quantity": 2,
        "unit_price": "19.99",
        "line_total": "39.98",
    }
    data = {
        "order_id": str(uuid.uuid4()),
        "user_id": None if user_id is None else str(user_id),
        "currency": "EUR",
        "total": "39.98",
        "lines": [line],
    }
    return Event(type="order.confirmed", data=data, producer="orders")


def test_the_customer_is_mailed_the_order_at_their_address(user):
    event = confirmed(user.pk)
    send_order_confirmation_email(event)

    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    assert message.subject == "Your MicroServiceHub order is confirmed"
    assert "Red mug" in message.body and "39.98" in message.body
    assert event.data["order_id"][:8] in message.body


def test_an_address_changed_since_the_order_is_the_one_mailed(user):
    user.email = "ann.new@example.com"
    user.save()
    send_order_confirmation_email(confirmed(user.pk))
    assert [m.to for m in mail.outbox] == [["ann.new@example.com"]]


def test_no_mail_for_an_inactive_deleted_or_anonymised_customer(user, make_user):
    inactive = make_user("off@example.com")
    inactive.is_active = False
    inactive.save()
    gone = make_user("gone@example.com")
    gone_id = gone.pk
    gone.delete()
    for user_id in (inactive.pk, gone_id, None):
        send_order_confirmation_email(confirmed(user_id))
    assert mail.outbox == []
