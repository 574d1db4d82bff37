"""The catalog service: products, categories, search, stock and stock reservations (Flask on
MongoDB)."""
