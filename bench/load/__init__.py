"""The load run (``python -m bench.load.run``): locust against the whole stack."""
