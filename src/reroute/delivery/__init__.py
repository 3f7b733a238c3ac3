"""Webhook delivery: the outbox worker, signing, and the retry policy (SPEC section 6.3)."""
