"""`reroute import`: products, facilities, stock counts and orders from CSV or JSON files.

Every record is checked against the API's own schemas first; then the whole file is written in one
transaction, so a file is imported entirely or not at all.
"""

from reroute.importing.files import ImportFailed
from reroute.importing.run import ImportKind, import_path

__all__ = ["ImportFailed", "ImportKind", "import_path"]
