"""Reroute: order management for retailers that fulfil online orders from their stores."""

__version__ = "0.1.0"
