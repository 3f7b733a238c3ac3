"""One router per resource of the API contract (SPEC section 8)."""
