"""The rules of orders, free of any framework: the status machine and pricing."""
