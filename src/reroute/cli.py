"""The `reroute` command: serve, migrate, tokens, import, route, simulate, demo."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from reroute.app import build_context, create_app
from reroute.config import Config
from reroute.delivery.worker import DeliveryWorker
from reroute.domain.access import SYSTEM, Role
from reroute.domain.errors import DomainError
from reroute.domain.settings import MOST_AMOUNT
from reroute.importing import ImportFailed, ImportKind, import_path
from reroute.jobs import Scheduler
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage.migrate import upgrade

app = typer.Typer(
    help="Reroute: store rejections, re-routing and Store Decline notifications.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="People who sign in to the pages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
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
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Refused from this many days on (default: never)."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Print a new API token, and nothing else, on standard output."""
    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        token, _ = tokens.create_token(
            context, role, facility or [], label, SYSTEM, expires_in_days=expires_in_days
        )
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(token)


@token_app.command("list")
def token_list(database_url: DatabaseOpt = None) -> None:
    """Every token with its role, facilities, label, and when it was made, last used and
    expires (never the token itself)."""
    from rich.table import Table

    from reroute.domain.clock import utcnow

    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        found = tokens.list_tokens(context, SYSTEM)
    finally:
        context.db.dispose()
    now = utcnow()
    table = Table()
    for title in ("ID", "Role", "Facilities", "Label", "Created", "Last used", "Expires", "State"):
        table.add_column(title, overflow="fold")  # a narrow terminal wraps, never cuts
    for t in found:
        state = "revoked" if t.revoked else "expired" if t.expired(now) else "active"
        table.add_row(
            str(t.id),
            t.role,
            escape(", ".join(t.facilities)),
            escape(t.label),
            _minute(t.created_at),
            _minute(t.last_used_at) or "never",
            _minute(t.expires_at) or "never",
            state,
        )
    Console().print(table)


def _minute(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The token's id.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Revoke a token: every process refuses it from its next request on."""
    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        tokens.revoke_token(context, token_id, SYSTEM)
    except DomainError as exc:
        err.print(f"[red]{escape(exc.detail)}[/red]")
        raise typer.Exit(2) from exc
    finally:
        context.db.dispose()
    err.print(f"Revoked token {token_id}.", highlight=False)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="What they sign in with.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for if left out."
        ),
    ],
    role: Annotated[Role, typer.Option(help="admin or associate")],
    facility: Annotated[
        list[str] | None,
        typer.Option("--facility", help="A facility of an associate (repeat for more)."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Create a person who signs in to the pages (password stored as an argon2 hash)."""
    from reroute.services import users

    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        user = users.create_user(context, email, password, role, facility or [], SYSTEM)
    except DomainError as exc:
        problems = getattr(exc, "errors", [])
        for problem in problems:
            err.print(f"[red]{problem.path}: {escape(problem.message)}[/red]")
        if not problems:
            err.print(f"[red]{escape(exc.detail)}[/red]")
        raise typer.Exit(2) from exc
    finally:
        context.db.dispose()
    where = f" at {', '.join(user.facilities)}" if user.facilities else ""
    err.print(f"Created {user.role} {escape(user.email)}{where}.", highlight=False)


@user_app.command("deactivate")
def user_deactivate(
    email: Annotated[str, typer.Argument(help="Whom to lock out.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Lock a person out: they can no longer sign in, and their open sessions end now."""
    from reroute.services import users

    context = build_context(_config(database_url))
    upgrade(context.db)
    try:
        users.deactivate_user(context, email, SYSTEM)
    except DomainError as exc:
        err.print(f"[red]{escape(exc.detail)}[/red]")
        raise typer.Exit(2) from exc
    finally:
        context.db.dispose()
    err.print(f"Deactivated {escape(email)}; their sessions have ended.", highlight=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int, typer.Option(help="API processes (PostgreSQL only for more than 1).")
    ] = 1,
    database_url: DatabaseOpt = None,
    deliver: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Deliver webhooks in this process too.")
    ] = True,
) -> None:
    """Serve the API and pages (and deliver webhooks, unless --no-worker)."""
    config = _config(database_url)
    if not deliver:
        config = config.model_copy(update={"serve_worker": False})
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
        if not deliver:
            os.environ["REROUTE_SERVE_WORKER"] = "false"
        if not config.session_secret:  # every process must sign page sessions alike
            os.environ["REROUTE_SESSION_SECRET"] = secrets.token_urlsafe(32)
        uvicorn.run(
            "reroute.app:from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=config.log_level,
            http=_installed("httptools"),
            loop=_installed("uvloop"),
        )
        return
    uvicorn.run(
        create_app(context, worker=_worker(context, config)),
        host=host,
        port=port,
        log_level=config.log_level,
        http=_installed("httptools"),
        loop=_installed("uvloop"),
    )


def _installed(fast: str) -> str:
    """httptools' C parser rather than h11's pure-Python one, uvloop rather than asyncio's
    loop: both are dependencies, but where one is not installed uvicorn picks its own."""
    return fast if importlib.util.find_spec(fast) is not None else "auto"


def _worker(context: Context, config: Config) -> DeliveryWorker | None:
    """Webhook delivery and the scheduled jobs, unless this process serves only."""
    if not config.serve_worker:
        return None
    return DeliveryWorker(context, config.worker_settings(), Scheduler(context))


@app.command()
def worker(database_url: DatabaseOpt = None) -> None:
    """Deliver webhooks until stopped (any number on PostgreSQL; one per SQLite file)."""
    config = _config(database_url)
    context = build_context(config)
    upgrade(context.db)
    jobs = Scheduler(context)
    delivery = DeliveryWorker(context, config.worker_settings(), jobs)
    err.print(
        "Delivering webhooks and running the scheduled jobs (idle sweep, routing); "
        "press Ctrl+C to stop."
    )
    jobs.start()
    try:
        delivery.run()
    except KeyboardInterrupt:
        pass
    finally:
        delivery.stop()


@app.command()
def route(
    chunk: Annotated[int, typer.Option(min=10, max=100_000, help="Orders per transaction.")] = 1000,
    database_url: DatabaseOpt = None,
) -> None:
    """Route every queued and backordered item once (a batch run), with a progress bar."""
    from rich.progress import Progress

    from reroute.services.routing_batch import run_batch

    context = build_context(_config(database_url))
    upgrade(context.db)
    with Progress(console=err, transient=False) as bar:
        task = bar.add_task("Routing", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, done))

        try:
            result = run_batch(context, SYSTEM, chunk=chunk, progress=advance)
        finally:
            context.db.dispose()
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.outcomes.items())) or "nothing"
    err.print(f"Routed {result.orders} orders in {result.seconds:.1f} s: {counts}.")


#: Problems of a refused import file shown at most; the rest are counted.
SHOWN_PROBLEMS = 50


@app.command("import")
def import_file(
    kind: Annotated[
        ImportKind,
        typer.Argument(metavar="KIND", help="What the file holds.", show_default=False),
    ],
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            help="A .csv or .json file (a list of objects); the extension sets the format.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    database_url: DatabaseOpt = None,
) -> None:
    """Load products, facilities, stock counts or orders from a file: all of it, or nothing."""
    context = build_context(_config(database_url))
    try:
        upgrade(context.db)
        count = import_path(context, kind, path, err)
    except ImportFailed as exc:
        for problem in exc.problems[:SHOWN_PROBLEMS]:
            err.print(problem, markup=False, highlight=False, soft_wrap=True)
        hidden = len(exc.problems) - SHOWN_PROBLEMS
        if hidden > 0:
            err.print(f"... and {hidden} more problems", soft_wrap=True)
        total = len(exc.problems)
        err.print(
            f"[red]Nothing was imported from {escape(path.name)}:[/red] {total} "
            f"problem{'s' if total != 1 else ''}; fix them and import the file again.",
            soft_wrap=True,
        )
        raise typer.Exit(1) from exc
    finally:
        context.db.dispose()
    err.print(f"Imported {count} {kind} rows from {path.name}", highlight=False, soft_wrap=True)


def _moment(text: str | None, name: str) -> datetime | None:
    """A date or a time from the command line, in UTC unless it says otherwise."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"[red]{name}:[/red] give a date (2026-11-30) or a time (2026-11-30T08:00).")
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def simulate(
    orders: Annotated[
        Path | None,
        typer.Option(
            "--orders",
            help="Orders to replay, in the import format (.csv or .json), from today's stock.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Replay the orders created since this date or time (UTC).", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="... and before this one (default: now).", show_default=False),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "--rules",
            help="A rules document (JSON) to compare, or `live` for the rules in force; repeat "
            "for more. None: the live rules.",
            show_default=False,
        ),
    ] = None,
    rejections: Annotated[
        str,
        typer.Option(
            help="How stores reject: learned (from the rejection log), none, or a CSV file "
            "of facility_id,product_id,rate."
        ),
    ] = "learned",
    seed: Annotated[int, typer.Option(help="The same seed gives the same report.")] = 0,
    cost_per_shipment: Annotated[
        float | None,
        typer.Option(min=0, max=MOST_AMOUNT, help="Default: the setting.", show_default=False),
    ] = None,
    cost_per_km: Annotated[
        float | None,
        typer.Option(min=0, max=MOST_AMOUNT, help="Default: the setting.", show_default=False),
    ] = None,
    reroute_penalty: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=MOST_AMOUNT,
            help="What the cost sort counts per likely re-route. Default: the setting.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the report as one HTML page here.", dir_okay=False),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Replay orders against rule sets, with stores that reject, and report: nothing is
    written to the database."""
    from reroute.services.simulation import SimulationRequest
    from reroute.services.simulation import simulate as run_simulation
    from reroute.simulation_output import print_report, read_rules, write_html

    rates = None
    if rejections not in ("learned", "none"):
        rates = Path(rejections)
        if not rates.is_file():
            err.print(
                "[red]--rejections:[/red] learned, none, or a file of rates; "
                f"{escape(rejections)} is none of them.",
                soft_wrap=True,
            )
            raise typer.Exit(2)
    if html is not None and not html.resolve().parent.is_dir():
        err.print(f"[red]--html:[/red] no folder {escape(str(html.parent))}.", soft_wrap=True)
        raise typer.Exit(2)
    request = SimulationRequest(
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        orders_file=orders,
        rules=read_rules(rules or [], err),
        rejections="learned" if rates else rejections,
        rates_file=rates,
        seed=seed,
        cost_per_shipment=cost_per_shipment,
        cost_per_km=cost_per_km,
        reroute_penalty=reroute_penalty,
    )
    context = build_context(_config(database_url))
    try:
        report = run_simulation(context, request)
    except DomainError as exc:
        err.print(f"[red]{escape(exc.detail)}[/red]", soft_wrap=True)
        for problem in getattr(exc, "errors", [])[:SHOWN_PROBLEMS]:
            err.print(f"  {problem.path}: {problem.message}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        context.db.dispose()
    if html is not None:
        try:
            write_html(report, html)
        except OSError as exc:
            err.print(f"[red]--html:[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from exc
        err.print(f"Wrote the report to {html}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(report)


@app.command()
def demo(
    database: Annotated[str, typer.Option(help="The demo's SQLite file.")] = "reroute-demo.db",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    fresh: Annotated[
        bool, typer.Option("--fresh/--keep", help="Start over, or keep a demo built before.")
    ] = True,
    run_server: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the demo once it is built.")
    ] = True,
) -> None:
    """A ready demo retailer in Chicago on the embedded database, served on localhost."""
    from pathlib import Path  # the demo's imports are needed by this command only

    from reroute.demo import build_demo, has_demo, sign_in_lines

    path = Path(database)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    config = _config(f"sqlite:///{path}")
    context = build_context(config)
    upgrade(context.db)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://[{shown_host}]:{port}" if ":" in shown_host else f"http://{shown_host}:{port}"
    if has_demo(context):
        err.print(f"Using the demo already in {path}.")
        lines = sign_in_lines(context, url)
    else:
        lines = build_demo(context, err, base_url=url)
    err.print(f"\n[bold]Reroute demo[/bold] at {url}", soft_wrap=True)
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    if not run_server:
        again = "" if database == "reroute-demo.db" else f" --database {database}"
        err.print(f"\nServe it with: reroute demo --keep{again}", markup=False, soft_wrap=True)
        return
    err.print("\nPress Ctrl+C to stop.")
    uvicorn.run(
        create_app(context, worker=_worker(context, config)),
        host=host,
        port=port,
        log_level=config.log_level,
    )
