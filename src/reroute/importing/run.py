"""One import: read the file, check every record, then write all of it in one transaction."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import IntegrityError

from reroute.importing import orders, rows, writing
from reroute.importing.files import Contents, ImportFailed, Problems, read
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work


class ImportKind(StrEnum):
    PRODUCTS = "products"
    FACILITIES = "facilities"
    STOCK = "stock"
    ORDERS = "orders"


class _Bar:
    """One progress bar per phase, advanced by the phase's record count."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(description, total=total)

    def __call__(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


def import_path(context: Context, kind: str, path: Path, console: Console) -> int:
    """Import one file of `kind` (format by extension); answers how many records were written.

    Raises ImportFailed, with every problem found, when anything is wrong: then nothing is
    written. Orders already present with the same content are left alone and not counted.
    """
    try:
        what = ImportKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in ImportKind)
        raise ImportFailed([f"unknown kind {kind!r}; expected one of {known}"]) from None
    name = path.name
    problems = Problems()
    contents = read(path, problems)
    if not contents.records:
        problems.raise_if_any()  # nothing to check beyond what is wrong with the whole file
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # A bar is for people watching a terminal; in a pipe or a log it would only add noise.
    live = Progress(
        *columns,
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with live as progress:
        bar = _Bar(progress)
        bar.start(f"Checking {name}", len(contents.records))
        plan = _check(what, contents, problems, name, bar)
        if isinstance(plan, writing.OrderPlan):
            plan.context = context
        if problems:  # report what the database knows too, then refuse the file
            with unit_of_work(context.db, write=False) as uow:
                plan.check(uow, problems)
            problems.raise_if_any()

        def work(uow: UnitOfWork) -> writing.Written:
            """The whole file in one transaction (run again from the start after a deadlock)."""
            found = Problems()
            bar.start(f"Writing {name}", len(contents.records))
            plan.check(uow, found)
            found.raise_if_any()
            return plan.write(uow, found, bar)

        try:
            written = transact(context.db, work)
        except IntegrityError as exc:  # another writer got there first; nothing was written
            raise ImportFailed([f"{name}: the database refused it: {exc.orig}"]) from exc
    if written.unchanged_orders:
        console.print(
            f"{written.unchanged_orders} order(s) in {name} were already present with the same "
            "content and were left as they were.",
            highlight=False,
            soft_wrap=True,
        )
    return written.rows


def _check(
    what: ImportKind, contents: Contents, problems: Problems, name: str, bar: _Bar
) -> writing.Plan:
    """Check every record against the schemas; answer the plan to check references and write."""
    if what is ImportKind.PRODUCTS:
        return writing.ProductPlan(rows.check_products(contents, problems, name, bar))
    if what is ImportKind.FACILITIES:
        return writing.FacilityPlan(rows.check_facilities(contents, problems, name, bar))
    if what is ImportKind.STOCK:
        counts = rows.check_stock(contents, problems, name, bar)
        return writing.StockPlan(counts, f"import:{name}"[:200])
    return writing.OrderPlan(orders.check_orders(contents, problems, name, bar))
