"""`python -m reroute`: the same as the `reroute` command."""

from reroute.cli import app

app()
