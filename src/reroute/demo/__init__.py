"""`reroute demo`: a ready demo retailer on the embedded database."""

from reroute.demo.builder import build_demo, has_demo, sign_in_lines
from reroute.demo.plan import plan_demo

__all__ = ["build_demo", "has_demo", "plan_demo", "sign_in_lines"]
