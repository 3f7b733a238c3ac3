"""The automated accessibility check: axe-core, from the npm registry, injected into a page.

axe-core is pinned in package.json and installed by `make test` (or `npm ci`) into node_modules;
nothing is fetched while a test runs. Only violations of impact serious or critical fail a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The impacts that fail a page; "minor" and "moderate" ones are left to judgement.
FAILING = ("serious", "critical")


def axe_problem() -> str | None:
    """Why the check cannot run here, or None when it can."""
    if not AXE.is_file():
        missing = AXE.relative_to(ROOT)
        return f"axe-core is not installed ({missing} is missing): run make test or npm ci"
    return None


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """The page's violations of impact serious or critical, as axe-core reports them."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const found = await window.axe.run(document, {resultTypes: ['violations']});
            return found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in FAILING]


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    """One line per violation: where, its id and impact, what axe says to do, and the elements."""
    return "\n".join(
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at {', '.join(v['targets'][:5])}"
        for v in violations
    )
