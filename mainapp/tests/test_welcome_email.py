"""The user.registered handler: a welcome e-mail to the new address."""

from __future__ import annotations

import pytest
from django.core import mail

from mainapp.accounts.events import send_welcome_email
from mainapp.event_handlers import HANDLERS
from msh_events import Event
from msh_events.contrib.django.models import OutboxEvent

pytestmark = pytest.mark.django_db


def registered(user, name: str) -> Event:
    """The user.registered event mainapp writes for ``user``."""
    data = {"user_id": str(user.pk), "email": user.email, "name": name}
    return Event(type="user.registered", data=data, producer="mainapp")


def test_user_registered_is_wired_to_the_welcome_email():
    assert HANDLERS["user.registered"] is send_welcome_email


def test_the_welcome_email_goes_to_the_registered_address(user):
    send_welcome_email(registered(user, "Ann"))

    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    assert message.subject == "Welcome to MicroServiceHub"
    assert "Hello Ann" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "ann@example.com" in html


def test_the_event_from_a_real_registration_produces_the_email(api, password):
    api.post(
        "/api/auth/register", {"email": "zoe@example.com", "password": password}, format="json"
    )
    event = OutboxEvent.objects.get(type="user.registered").to_event()
    send_welcome_email(event)
    assert [m.to for m in mail.outbox] == [["zoe@example.com"]]
    assert "Hello," in mail.outbox[0].body  # no name given


def test_no_welcome_for_an_account_deleted_before_the_worker_ran(user):
    event = registered(user, "")
    user.delete()
    send_welcome_email(event)
    assert mail.outbox == []


def test_a_name_is_not_html_injected(make_user):
    person = make_user("h@example.com")
    send_welcome_email(registered(person, "<b>x</b>"))
    [message] = mail.outbox
    assert "<b>x</b>" in message.body  # plain text keeps it as typed
    assert "<b>x</b>" not in message.alternatives[0][0]
    assert "&lt;b&gt;x&lt;/b&gt;" in message.alternatives[0][0]
