"""`python -m bpcore` and the `bpcore` console script: see bpcore.cli."""
from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (0 ok, 2 bad input)."""
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
