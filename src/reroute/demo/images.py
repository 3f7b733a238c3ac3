"""Product pictures for the demo catalog, drawn by code: one small SVG per product line and
colour, shipped with the pages' static files so the demo fetches nothing.

    python -m reroute.demo.images   (writes them again, after a change to the drawings)
"""

from __future__ import annotations

import sys
from pathlib import Path

from reroute.demo import metro

#: Where the pictures are kept, and the address the app serves them at.
DIRECTORY = Path(__file__).resolve().parents[1] / "pages" / "static" / "demo"
URL_PREFIX = "/static/demo/"

COLOUR_HEX = {
    "NVY": "#1f2d4d",
    "BLK": "#1c1c1c",
    "WHT": "#fafaf7",
    "HGR": "#9a9a9e",
    "OLV": "#6b6b3a",
    "CML": "#c19a6b",
    "RST": "#a0522d",
    "SGE": "#9caf88",
    "CHR": "#3b3f45",
    "IVY": "#f3efdc",
    "IND": "#34416b",
    "BUR": "#7a2036",
    "SND": "#d8c6a2",
    "SLB": "#5b7a99",
}

# Silhouettes on a 64 x 64 grid, one per kind of product.
_TOP = "M22 10 12 16 6 28 14 32 16 26V56H48V26L50 32 58 28 52 16 42 10Q32 18 22 10Z"
_COAT = "M22 8 12 14 8 58H18V30L20 60H44L46 30V58H56L52 14 42 8 32 30Z"
_BOTTOM = "M18 8H46L50 58H36L32 24 28 58H14Z"
_DRESS = "M24 6H40L38 20 50 58H14L26 20Z"
_SKIRT = "M20 14H44L54 54H10Z"
_SHOE = "M6 40V24H18Q26 34 38 34L52 36Q58 38 58 46V50H6Z"
_HAT = "M14 44Q14 14 32 14Q50 14 50 44ZM12 44H52V52H12Z"
_SCARF = "M20 8H34V40L40 58H30L26 44 20 58H12L20 40Z"
_BELT = "M4 26H60V38H4ZM40 22H52V42H40Z"
_FOLDED = "M10 18H54V30H10ZM10 32H54V44H10ZM10 46H54V58H10Z"
_PILLOW = "M10 14Q32 20 54 14Q48 32 54 50Q32 44 10 50Q16 32 10 14Z"
_MUG = (
    "M14 16H42V52Q42 56 38 56H18Q14 56 14 52Z"
    "M42 24H50Q54 24 54 30V38Q54 44 50 44H42V40H48Q50 40 50 38V30Q50 28 48 28H42Z"
)
_PLATE = "M32 6A26 26 0 1 0 32.01 6ZM32 16A16 16 0 1 1 31.99 16Z"
_TUMBLERS = "M14 14H30L28 54H16ZM34 14H50L48 54H36Z"
_SKILLET = "M26 16A18 18 0 1 0 26.01 16ZM42 30H62V38H42Z"
_LAMP = "M20 8H44L52 32H12ZM30 32H34V52H30ZM20 52H44V58H20Z"
_CANDLE = "M18 22H46V56H18ZM32 8Q38 16 32 20Q26 16 32 8Z"
_BASKET = "M10 26H54L48 58H16ZM18 26Q18 8 32 8Q46 8 46 26H42Q42 12 32 12Q22 12 22 26Z"

SHAPES = {
    **dict.fromkeys(("LBS", "OXS", "CNT", "VNT", "MCS", "CSC", "CKS", "FQZ"), _TOP),
    **dict.fromkeys(("DNJ", "QVS", "RSH", "WOC"), _COAT),
    **dict.fromkeys(("SLC", "SLJ", "RLJ", "PLT", "JLG"), _BOTTOM),
    "WRD": _DRESS,
    "MDS": _SKIRT,
    **dict.fromkeys(("CVS", "LLF", "CHB"), _SHOE),
    "WBN": _HAT,
    "KSC": _SCARF,
    "LBT": _BELT,
    **dict.fromkeys(("CBT", "WHT", "PSS", "LDC", "QTH", "WAR", "LNS"), _FOLDED),
    "DPL": _PILLOW,
    "CMG": _MUG,
    "SDP": _PLATE,
    "GTS": _TUMBLERS,
    "CIS": _SKILLET,
    "TLP": _LAMP,
    "SCN": _CANDLE,
    "WSB": _BASKET,
}


def file_name(sku: str) -> str:
    return sku.lower() + ".svg"


def image_url(sku: str) -> str:
    """The address of the picture of a demo product, served by the app itself."""
    return URL_PREFIX + file_name(sku)


def _stripes(line_code: str) -> str:
    """Lines that share a silhouette tell apart by stripes across it: none for the first,
    one more for each next line of that silhouette."""
    same = [code for code, shape in SHAPES.items() if shape == SHAPES[line_code]]
    count = same.index(line_code)
    if not count:
        return ""
    gap = 48 / (count + 1)
    bands = "".join(
        f'<rect x="0" y="{8 + gap * (n + 1) - 1.5:.1f}" width="64" height="3"/>'
        for n in range(count)
    )
    return f'<g clip-path="url(#shape)" fill="#ffffff" opacity=".35">{bands}</g>'


def drawing(line_code: str, colour_code: str) -> str:
    """The SVG of one product line in one colour: its silhouette in that colour on a light tile,
    outlined so that white and ivory show."""
    shape = SHAPES[line_code]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        f'<clipPath id="shape"><path d="{shape}" clip-rule="evenodd"/></clipPath>'
        '<rect width="64" height="64" rx="8" fill="#eceae4"/>'
        f'<path d="{shape}" fill="{COLOUR_HEX[colour_code]}" fill-rule="evenodd" '
        'stroke="#55534e" stroke-width="1.2" stroke-linejoin="round"/>'
        f"{_stripes(line_code)}"
        "</svg>\n"
    )


def all_drawings() -> dict[str, str]:
    """Every line in every colour, by file name: more than the catalog uses, so that a demo
    drawn from another seed has its pictures too."""
    return {
        file_name(f"{line.code}-{colour}"): drawing(line.code, colour)
        for line in metro.LINES
        for colour in metro.COLOURS
    }


def write(directory: Path = DIRECTORY) -> int:
    """Write every drawing into `directory`; answers how many."""
    directory.mkdir(parents=True, exist_ok=True)
    drawings = all_drawings()
    for name, svg in drawings.items():
        (directory / name).write_text(svg, encoding="utf-8")
    return len(drawings)


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else DIRECTORY)} pictures")
