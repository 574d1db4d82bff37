"""The Django side of libs/msh_events: outbox, processed-event and dead-letter tables."""
