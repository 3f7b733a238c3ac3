"""A batch routing run over 100,000 queued items and 1,000 facilities, with its memory over time,
on SQLite and PostgreSQL, for this checkout beside a baseline commit measured in the same run.

For each database and each version, on a fresh database: a child process with that version on
PYTHONPATH writes the generated retailer (bench/routing_data.py: facilities over the US, products
with a long tail, stock, orders queued), then that version's `reroute route` routes the queue
while this script samples the routing process's resident memory (VmRSS) every 0.2 s. The seconds
are the ones `reroute route` reports for the batch itself (its process start and migration check
left out); memory is "flat" when it grows by at most a tenth of its peak from a quarter of the
run to its end, whatever the queue's length.

    .venv/bin/python bench/batch.py [--quick] [--items 100000] [--facilities 1000]
        [--no-baseline | --baseline REF] [--no-postgres | --postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from compare import Figure, at_most, console, setting, table
from over_http import fresh_database
from server import DEFAULT_POSTGRES, log, postgres_problem, stop_on_sigterm
from versions import Code, add_arguments, versions

TARGETS = {"SQLite": 20.0, "PostgreSQL": 30.0}
SAMPLE_EVERY = 0.2
ROUTE_TIMEOUT = 900.0
GENERATE_TIMEOUT = 900.0
#: What the routing child prints once its modules are imported and the command starts.
BEGIN = "the route command starts"
#: Memory may grow by this share of its peak after the first quarter of the run and count as flat.
FLAT = 0.10
HERE = Path(__file__).resolve().parent


@dataclass
class Routed:
    seconds: float = 0.0
    wall: float = 0.0
    summary: str = ""
    #: (seconds since start, resident MB) of the routing process.
    samples: list[tuple[float, float]] = field(default_factory=list)

    @property
    def peak_mb(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)

    def at(self, fraction: float) -> float:
        """Resident MB at `fraction` of the run (the sample nearest to it)."""
        if not self.samples:
            return 0.0
        moment = self.samples[-1][0] * fraction
        return min(self.samples, key=lambda s: abs(s[0] - moment))[1]

    @property
    def growth_mb(self) -> float:
        """Growth from a quarter of the run to the highest point after it."""
        quarter = self.samples[-1][0] / 4 if self.samples else 0.0
        later = [mb for t, mb in self.samples if t >= quarter]
        return max(later, default=0.0) - self.at(0.25)

    def profile(self) -> str:
        return " ".join(f"{self.at(f):.0f}" for f in (0.1, 0.25, 0.5, 0.75, 1.0))


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def generate(code: Code, url: str, args: argparse.Namespace) -> dict[str, int]:
    done = subprocess.run(
        [
            *(sys.executable, str(HERE / "batch.py"), "--phase", "generate", "--url", url),
            *("--items", str(args.items), "--facilities", str(args.facilities)),
            *("--products", str(args.products)),
        ],
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT,
        check=False,
        env=code.env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"generating the queue failed:\n{done.stderr.strip()[-2000:]}")
    written: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return written


def route(code: Code, url: str, chunk: int, logs: Path) -> Routed:
    """`reroute route` of `code`, its memory sampled from the moment the command starts (its
    modules imported) until it ends, or is stopped at the time cap."""
    result = Routed()
    command = [sys.executable, str(HERE / "batch.py"), "--phase", "route", "--url", url]
    command += ["--chunk", str(chunk)]
    with logs.open("wb") as log_file:
        process = subprocess.Popen(
            command, env=code.env(), stdout=log_file, stderr=subprocess.STDOUT
        )
    started = time.monotonic()
    begun: float | None = None
    try:
        while process.poll() is None:
            if time.monotonic() - started > ROUTE_TIMEOUT:
                raise RuntimeError(f"reroute route ran over {ROUTE_TIMEOUT:.0f} s; stopped")
            if begun is None and BEGIN in logs.read_text(errors="replace"):
                begun = time.monotonic()
            mb = _rss_mb(process.pid)
            if begun is not None and mb is not None:
                result.samples.append((time.monotonic() - begun, mb))
            time.sleep(SAMPLE_EVERY)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    result.wall = time.monotonic() - started
    output = logs.read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"reroute route failed:\n{output[-2000:]}")
    found = re.findall(r"Routed (\d+) orders in ([\d.]+) s: ([^\n]*)", output)
    if found:
        result.seconds = float(found[-1][1])
        result.summary = f"{int(found[-1][0]):,} orders: {found[-1][2]}"
    else:
        result.seconds = result.wall
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 items, 50 facilities")
    parser.add_argument("--items", type=int, help="queued items (default 100,000)")
    parser.add_argument("--facilities", type=int, help="default 1,000")
    parser.add_argument("--products", type=int, help="default 5,000")
    parser.add_argument("--chunk", type=int, default=1000, help="orders per transaction")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--phase", choices=["generate", "route"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    add_arguments(parser)
    args = parser.parse_args(argv)
    for name, full, small in (
        ("items", 100_000, 2_000),
        ("facilities", 1000, 50),
        ("products", 5000, 200),
    ):
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
    if args.items < 1 or args.facilities < 1 or args.products < 1:
        parser.error("--items, --facilities and --products must be positive")
    return args


def _generate_here(args: argparse.Namespace) -> int:
    """The child's part: write the queue with the version on PYTHONPATH."""
    from routing_data import Shape, generate

    warehouses = min(50, max(1, args.facilities // 20))
    shape = Shape(
        facilities=args.facilities,
        warehouses=warehouses,
        products=args.products,
        items=args.items,
    )
    print(json.dumps(generate(args.url, shape)))
    return 0


def _route_here(args: argparse.Namespace) -> int:
    """The child's part: the version's `reroute route`, once every module it needs is loaded, so
    that the memory sampled from the mark on is the batch's own."""
    from reroute.cli import app

    print(BEGIN, flush=True)
    app(["route", "--chunk", str(args.chunk), "--database-url", args.url], standalone_mode=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase == "generate":
        return _generate_here(args)
    if args.phase == "route":
        return _route_here(args)
    stop_on_sigterm()
    log.print(f"Start: {setting()}")
    figures: list[Figure] = []
    notes: list[str] = []
    labels: list[str] = []
    try:
        with (
            versions(args) as codes,
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
        ):
            work = Path(directory)
            labels = [code.label for code in codes]
            names = ["SQLite"]
            if args.no_postgres:
                log.print("PostgreSQL: skipped (--no-postgres).")
            elif problem := postgres_problem(args.postgres_url):
                log.print(f"{problem}; skipping PostgreSQL.", markup=False, style="yellow")
            else:
                names.append("PostgreSQL")
            for name in names:
                log.print(f"[bold]{name}[/bold]")
                seconds = Figure(
                    f"{name}: batch of {args.items:,} items", "s", at_most(TARGETS[name])
                )
                peak = Figure(f"{name}: peak resident memory", "MB", digits=0)
                growth = Figure(f"{name}: memory growth after the first quarter", "MB", digits=0)
                share = Figure(f"{name}: that growth, share of the peak", "%", at_most(FLAT * 100))
                figures += [seconds, peak, growth, share]
                for code in codes:
                    try:
                        with fresh_database(name, work, code.label, args.postgres_url) as url:
                            log.print(f"  {code.label}: generating {args.items:,} queued items…")
                            generate(code, url, args)
                            log.print(f"  {code.label}: reroute route…")
                            logs = work / f"{code.label}-{name.lower()}-route.log"
                            r = route(code, url, args.chunk, logs)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        for figure in (seconds, peak, growth, share):
                            figure.problems[code.label] = str(exc).splitlines()[0]
                        log.print(f"  {code.label} failed: {exc}", markup=False, style="red")
                        continue
                    seconds.values[code.label] = r.seconds
                    peak.values[code.label] = r.peak_mb
                    growth.values[code.label] = r.growth_mb
                    share.values[code.label] = 100 * r.growth_mb / r.peak_mb if r.peak_mb else 0
                    notes.append(
                        f"{name}, {code.label}: {r.summary}; process {r.wall:.1f} s; resident MB "
                        f"at 10/25/50/75/100 % of the run: {r.profile()}"
                    )
    except KeyboardInterrupt:
        log.print("Interrupted; baseline removed. Figures so far:")
    out = console()
    out.print(
        table(
            f"Batch routing: {args.items:,} queued items, {args.facilities:,} facilities, "
            f"{args.products:,} products (`reroute route --chunk {args.chunk}`)",
            figures,
            labels,
            caption=(
                f"{setting()}. Seconds as `reroute route` reports them; memory is the routing "
                f"process's VmRSS sampled every {SAMPLE_EVERY:g} s."
            ),
        )
    )
    for note in notes:
        out.print(note, markup=False)
    return 1 if any(f.problems for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
