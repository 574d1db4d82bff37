"""The catalog's rules: prices, safe names, search terms, reservations. No framework imports,
no database: the store and the API call these."""
