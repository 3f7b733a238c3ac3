"""Repositories: load and save domain objects with SQLAlchemy Core in the caller's transaction."""
