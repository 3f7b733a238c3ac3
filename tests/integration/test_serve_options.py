"""`reroute serve` hands uvicorn the fast HTTP parser, with one process or several."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from reroute.cli import app as cli


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    return calls


def test_one_process_serves_on_httptools(
    served: list[tuple[Any, dict[str, Any]]], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reroute.db'}"
    result = CliRunner().invoke(cli, ["serve", "--database-url", url, "--no-worker"])
    assert result.exit_code == 0, result.output
    [(_, options)] = served
    assert options["http"] == "httptools"
    assert "workers" not in options


@pytest.mark.postgres
def test_several_processes_serve_on_httptools(
    served: list[tuple[Any, dict[str, Any]]], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # serve sets these for the processes it starts; monkeypatch puts them back after
    monkeypatch.setenv("REROUTE_SESSION_SECRET", "shared")
    monkeypatch.setenv("REROUTE_SERVE_WORKER", "true")
    args = ["serve", "--database-url", postgres_url, "--workers", "2", "--no-worker"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [(target, options)] = served
    assert target == "reroute.app:from_environment"
    assert options["workers"] == 2
    assert options["http"] == "httptools"


def test_several_processes_on_sqlite_are_refused(
    served: list[tuple[Any, dict[str, Any]]], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reroute.db'}"
    result = CliRunner().invoke(cli, ["serve", "--database-url", url, "--workers", "2"])
    assert result.exit_code == 2
    assert served == []
