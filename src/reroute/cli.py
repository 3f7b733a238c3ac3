"""The `reroute` command: serve, migrate, tokens, import, demo."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from reroute.app import build_context, create_app
from reroute.config import Config
from reroute.domain.access import SYSTEM, Role
from reroute.domain.errors import DomainError
from reroute.services import tokens
from reroute.storage.migrate import upgrade

app = typer.Typer(
    help="Reroute: store rejections, re-routing and Store Decline notifications.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
err = Console(stderr=True)


def _config(database_url: str | None) -> Config:
    config = Config()
    if database_url:
        config = config.model_copy(update={"database_url": database_url})
    return config


DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides REROUTE_DATABASE_URL.", show_default=False),
]


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Bring the database to the current schema."""
    context = build_context(_config(database_url))
    upgrade(context.db)
    where = context.db.engine.url.render_as_string()
    err.print(f"[green]Database is at the current schema[/green] ({where})")


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="admin, integration or associate")],
    facility: Annotated[
        list[str] | None,
        typer.Option("--facility", help="A facility of an associate (repeat for more)."),
    ] = None,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    database_url: DatabaseOpt = None,
) -> None:
    """Print a new API token, and nothing else, on standard output."""
    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        token, _ = tokens.create_token(context, role, facility or [], label, SYSTEM)
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(token)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int, typer.Option(help="API processes (PostgreSQL only for more than 1).")
    ] = 1,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the API and pages."""
    config = _config(database_url)
    context = build_context(config)
    upgrade(context.db)
    host = host or config.host
    port = port or config.port
    if workers > 1:
        if context.db.is_sqlite:
            err.print(
                "[red]More than one API process needs PostgreSQL; SQLite has one writer.[/red]"
            )
            raise typer.Exit(2)
        uvicorn.run(
            "reroute.app:from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=config.log_level,
        )
        return
    uvicorn.run(create_app(context), host=host, port=port, log_level=config.log_level)
