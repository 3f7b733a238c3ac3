"""Application services: one use case per function, one transaction each."""
