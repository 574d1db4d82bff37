"""MicroServiceHub API gateway: the single HTTP entry point in front of the platform's services."""
