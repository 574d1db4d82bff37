"""The accounts HTTP API, one module per resource: auth, users (the caller's own), jwks."""
