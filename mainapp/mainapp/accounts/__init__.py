"""Identity: users, JWT issuing (RS256, rotating keyring), profile and password flows."""
