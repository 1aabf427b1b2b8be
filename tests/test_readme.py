"""The README's example runs and does what its comments say: XOR learned to the tolerance,
predictions on the right side of 0.5, and the chain rule of one weight printed."""
import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_example_runs_and_learns_xor():
    blocks = python_blocks(README.read_text())
    assert len(blocks) == 1, "the README has one example; this test runs it"
    printed = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[0], str(README), "exec"), namespace)
    history, net, X, y = (namespace[name] for name in ("history", "net", "X", "y"))
    assert history.stop_reason == "tol" and 1 < history.epochs < 5000
    np.testing.assert_array_equal(net.predict(X).ravel() > 0.5, y > 0.5)
    lines = printed.getvalue().splitlines()
    assert lines[0] == f"{history.epochs} tol"
    assert "product" in printed.getvalue() and "gradient" in printed.getvalue()
