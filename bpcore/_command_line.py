"""Whether this process is bpcore's command line, known before bpcore.__main__ runs.

`bpcore ...` and `python -m bpcore ...` import the package (which chooses the kernels) before
the command line's own code; what that import reports must then take the command line's
one-line form (bpcore/__init__.py).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# interpreter options that take the next word as their value
_WITH_VALUE = ("-W", "-X", "--check-hash-based-pycs")


def started_as_command_line(orig_argv: Sequence[str], argv0: str) -> bool:
    """True for the console script (argv[0] named bpcore) and for `python [options] -m bpcore`."""
    if os.path.splitext(os.path.basename(argv0))[0] == "bpcore":
        return True
    words = list(orig_argv[1:])
    while words:
        word = words.pop(0)
        if word == "-m":
            return words[:1] == ["bpcore"]
        if word.startswith("-m"):
            return word == "-mbpcore"
        if word in _WITH_VALUE:
            words = words[1:]
        elif word == "-c" or word == "-" or not word.startswith("-"):
            return False  # a command, standard input or a script: not the command line
    return False


def report(kind: str, message: object) -> None:
    """The command line's one line on stderr: `bpcore: error: ...`, `bpcore: warning: ...`
    (a message of several lines joined by spaces; spaces within a line, as in a column's
    name, kept as they are)."""
    lines = (line.strip() for line in str(message).splitlines())
    print(f"bpcore: {kind}: {' '.join(line for line in lines if line)}", file=sys.stderr)
