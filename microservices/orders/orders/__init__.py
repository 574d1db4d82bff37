"""The orders service: carts, checkout, the order saga, live status and sales reports."""
