"""`python -m bpcore` and the `bpcore` console script: see bpcore.cli."""
import sys


def main(argv=None):
    """Run the command line; return its exit status (0 ok, 2 bad input)."""
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
