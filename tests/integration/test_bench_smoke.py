"""The HTTP bench runs end to end in quick mode and prints the statements a rejection sends.

Only a count is asserted, never a timing: timings depend on the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "over_http.py"


def test_the_quick_rejection_bench_prints_statements_per_rejection() -> None:
    done = subprocess.run(
        [
            *(sys.executable, str(BENCH), "--quick", "--no-baseline", "--no-postgres"),
            *("--orders", "30", "--stores", "2", "--products", "1", "--seconds", "20"),
            *("--statement-requests", "3"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"SQLite: statements per rejection\s*│\s*statements\s*│\s*(\d+)", done.stdout)
    assert found, done.stdout
    assert int(found.group(1)) > 0
