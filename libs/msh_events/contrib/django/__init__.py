"""msh_events for a Django service: add ``"msh_events.contrib.django"`` to INSTALLED_APPS and set

- ``EVENTS_SERVICE``: the service's name, its queue and the producer of what it publishes;
- ``EVENTS_HANDLERS``: the dotted path of its mapping of event type to handler;
- ``EVENTS`` (``msh_events.config.EventsConfig.from_env()``) and ``CELERY_BROKER_URL``.

It brings the outbox, processed-event and dead-letter tables (app label ``eventbus``) with their
admin, :func:`~.outbox.publish` (inside the caller's transaction, relayed after commit by a
background thread), ``manage.py relay_outbox`` and ``manage.py deadletters``, and the worker:
``app = worker()`` in the module ``celery -A`` loads.
"""
