"""HTTP endpoints the gateway answers itself (everything else is proxied)."""
