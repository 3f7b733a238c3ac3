"""The code a benchmark measures: this checkout, and a baseline commit beside it in the same run.

The baseline is a throwaway `git worktree` of `--baseline REF` in a temporary directory, removed on
the way out. Both run on the same interpreter; a child process imports one or the other through
PYTHONPATH, so the same measurement runs against each and the two figures can be printed side by
side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

REPOSITORY = Path(__file__).resolve().parents[1]
#: "before issue 10": the last commit before the rejection and routing core became a plan.
DEFAULT_BASELINE = "146569f"
GIT_TIMEOUT = 120.0

log = Console(stderr=True)


@dataclass(frozen=True)
class Code:
    """One version of Reroute: a label for the tables and the `src` folder it imports from."""

    label: str
    src: Path
    describe: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process that imports this version of `reroute`."""
        return {**os.environ, "PYTHONPATH": str(self.src), **extra}

    def reroute(self) -> list[str]:
        """The `reroute` command of this version."""
        return [sys.executable, "-m", "reroute"]

    def cli(self, *args: str, timeout: float = 600.0) -> str:
        """Run a `reroute` subcommand of this version; answers its standard output."""
        done = subprocess.run(
            [*self.reroute(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env(),
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.label}: reroute {' '.join(args[:2])} failed:\n{done.stderr.strip()[-2000:]}"
            )
        return done.stdout.strip()

    def prepare(self, url: str) -> str:
        """Migrate the database at `url` with this version; answers a fresh admin token."""
        self.cli("db", "upgrade", "--database-url", url)
        return self.cli("token", "create", "--role", "admin", "--database-url", url)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        metavar="REF",
        help=f"git ref measured beside this checkout (default {DEFAULT_BASELINE}, before issue 10)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="measure this checkout only, no baseline"
    )


def current() -> Code:
    return Code("current", REPOSITORY / "src", "this checkout (working tree)")


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPOSITORY), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def baseline_checkout(ref: str) -> Iterator[Code]:
    """A worktree of `ref` in a temporary directory, removed with its git record on the way out."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    subject = _git("log", "-1", "--format=%h %s", commit)
    with tempfile.TemporaryDirectory(prefix="reroute-baseline-") as directory:
        tree = Path(directory) / "tree"
        _git("worktree", "add", "--detach", str(tree), commit)
        try:
            yield Code("baseline", tree / "src", subject)
        finally:
            try:
                _git("worktree", "remove", "--force", str(tree))
            except RuntimeError as exc:
                log.print(f"Could not remove the baseline worktree: {exc}", markup=False)


@contextmanager
def versions(args: argparse.Namespace) -> Iterator[Sequence[Code]]:
    """The versions to measure, baseline first: (baseline, current), or (current,) alone."""
    if args.no_baseline:
        yield (current(),)
        return
    with baseline_checkout(args.baseline) as baseline:
        log.print(f"Baseline: {baseline.describe}", markup=False)
        yield (baseline, current())
