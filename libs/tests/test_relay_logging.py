"""How relays log a failed round: a broker outage in one line, anything else with its traceback."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from msh_events import log_relay_failure

logger = logging.getLogger("relay-test")


def logged_failure(exc: Exception, caplog) -> logging.LogRecord:
    """The one record ``log_relay_failure`` writes while ``exc`` is being handled."""
    try:
        raise exc
    except type(exc):
        log_relay_failure(logger, "sweep failed; retrying in %ss", 2)
    [record] = caplog.records
    return record


def test_a_broker_outage_is_one_warning_line(caplog):
    outage = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    record = logged_failure(outage, caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == (
        "sweep failed; retrying in 2s (broker unavailable: "
        "Error 111 connecting to 127.0.0.1:6379. Connection refused.)"
    )


def test_any_other_failure_is_an_error_with_its_traceback(caplog):
    record = logged_failure(ValueError("a bug"), caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info[0] is ValueError
    assert record.getMessage() == "sweep failed; retrying in 2s"
