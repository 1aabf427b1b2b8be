"""`python -m bpcore` and the `bpcore` console script: see bpcore.cli."""
from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (0 ok, 2 bad input, 130 interrupted,
    141 stdout closed early)."""
    # a bad BPCORE_BACKEND fails while the package is imported, before this runs: see
    # bpcore/__init__.py
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
