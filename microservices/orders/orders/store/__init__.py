"""Persistence on PostgreSQL: engine and transactions, models, queries, event stores."""
