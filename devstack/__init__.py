"""Run the whole platform natively: throwaway PostgreSQL, Redis and MongoDB-compatible servers,
then every service and worker, then the gateway (``make dev``; the test fixtures)."""
