"""Delivery: the outbox, sending, suppression, unsubscribe, opens, clicks and replies."""
