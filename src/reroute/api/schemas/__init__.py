"""Request and response bodies, split by use."""
