"""Small pieces every MicroServiceHub Python service shares: logging and start-up guards."""
