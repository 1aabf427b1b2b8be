"""The API reference (docs/api.rst) names every public name: checked without Sphinx.

The Sphinx build (docs/conf.py) shows what api.rst lists; nothing would notice a public name
it leaves out. Public means listed in the `__all__` of the modules users import.
"""
import importlib
import inspect
import re
from pathlib import Path

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

PUBLIC_MODULES = ["bpcore", "bpcore.network", "bpcore.optim", "bpcore.schedules",
                  "bpcore.datasets", "bpcore.io", "bpcore.sklearn", "bpcore.convert"]

MODULE = re.compile(r"^\.\. (?:current|auto)?module:: (\S+)")
DATA = re.compile(r"^\.\. data:: (\S+)")
AUTOSUMMARY = re.compile(r"^\.\. autosummary::")


def documented_names(text):
    """The full names an api.rst documents: its automodules, the entries of its autosummary
    tables and its data directives, each under the current module where it appears."""
    names, module, in_table = set(), "", False
    for line in text.splitlines():
        if found := MODULE.match(line):
            module, in_table = found[1], False
            if line.startswith(".. automodule::"):
                names.add(module)
        elif found := DATA.match(line):
            names.add(f"{module}.{found[1]}")
            in_table = False
        elif AUTOSUMMARY.match(line):
            in_table = True
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            names.add(f"{module}.{line.strip().lstrip('~')}")
        elif in_table and line.strip() and not line.startswith(" "):
            in_table = False  # the table ended at the next unindented line
    return names


def resolve(full_name):
    """The object a full name such as "bpcore.schedules.Cosine" names."""
    parts = full_name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(full_name)


def undocumented(text):
    """The public names (module.name) the reference in `text` does not list, under that name
    or (for a module, class or function) under another name of the same object."""
    names = documented_names(text)
    objects = [resolve(name) for name in names]
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            full_name = f"{module_name}.{name}"
            obj = getattr(module, name)
            has_identity = (inspect.ismodule(obj) or inspect.isclass(obj)
                            or inspect.isfunction(obj))
            if full_name not in names and not (has_identity
                                               and any(obj is seen for seen in objects)):
                missing.append(full_name)
    return missing


def test_every_public_name_is_in_the_api_reference():
    assert undocumented(API_RST.read_text(encoding="utf-8")) == []


def test_every_entry_of_the_api_reference_exists():
    # a renamed or removed name left in api.rst: resolve raises
    for name in documented_names(API_RST.read_text(encoding="utf-8")):
        resolve(name)


def test_the_check_finds_a_missing_name():
    text = API_RST.read_text(encoding="utf-8")
    without = re.sub(r"(?m)^   Rprop\n", "", text)
    assert without != text, "api.rst no longer lists Rprop as assumed here"
    assert undocumented(without) == ["bpcore.Rprop", "bpcore.optim.Rprop"]
    without = re.sub(r"(?m)^\.\. data:: SCHEDULES\n", "", text)
    assert undocumented(without) == ["bpcore.schedules.SCHEDULES"]


def raised_names(doc):
    """The exception names (the last part of a dotted one) a numpydoc docstring's Raises
    section lists: its unindented lines, which may name several ("ValueError, TypeError")."""
    lines = doc.splitlines() + [""]
    starts = [i + 2 for i, line in enumerate(lines[:-1])
              if line == "Raises" and lines[i + 1] == "------"]
    if not starts:
        return set()
    start, names = starts[0], set()
    for line, below in zip(lines[start:], lines[start + 1:]):
        if below and set(below) == {"-"}:  # the next section's title
            break
        if line and not line[0].isspace():
            names |= {name.strip().split(".")[-1] for name in line.split(",")}
    return names


def _data():
    import numpy as np
    return np.random.default_rng(0).normal(size=(10, 2)), [0, 1] * 5


def _misuses():
    """(documented name, a call that misuses it): each call raises an exception that the
    docstring's Raises section must name (or name a base class of)."""
    from bpcore.schedules import (Constant, Cosine, Exponential, InverseScaling,
                                  ReduceOnPlateau, StepDecay)
    from bpcore.sklearn import MLPClassifier, MLPRegressor
    X, y = _data()
    negative = [-1.0] * len(y)
    return [
        ("bpcore.schedules.Constant", lambda: Constant("0.1")),
        ("bpcore.schedules.Constant", lambda: Constant(0.0)),
        ("bpcore.schedules.InverseScaling", lambda: InverseScaling(0.1, samples_per_epoch=1.5)),
        ("bpcore.schedules.InverseScaling", lambda: InverseScaling(0.1, power=-1.0)),
        ("bpcore.schedules.StepDecay", lambda: StepDecay(0.1, every=2.0)),
        ("bpcore.schedules.StepDecay", lambda: StepDecay(0.1, factor=1.5)),
        ("bpcore.schedules.Exponential", lambda: Exponential(0.1, gamma="0.5")),
        ("bpcore.schedules.Exponential", lambda: Exponential(0.1, gamma=0.0)),
        ("bpcore.schedules.Cosine", lambda: Cosine(0.1, period=4, restarts=1)),
        ("bpcore.schedules.Cosine", lambda: Cosine(0.1, period=4, period_factor=2)),
        ("bpcore.schedules.ReduceOnPlateau", lambda: ReduceOnPlateau(patience=1.5)),
        ("bpcore.schedules.ReduceOnPlateau", lambda: ReduceOnPlateau(factor=1.0)),
        ("bpcore.sklearn.MLPClassifier", lambda: MLPClassifier(alpha=-1.0).fit(X, y)),
        ("bpcore.sklearn.MLPClassifier", lambda: MLPClassifier().score(X, y)),
        ("bpcore.sklearn.MLPClassifier.fit", lambda: MLPClassifier().fit(X, y[:-1])),
        ("bpcore.sklearn.MLPClassifier.partial_fit", lambda: MLPClassifier().partial_fit(X, y)),
        ("bpcore.sklearn.MLPClassifier.partial_fit",
         lambda: MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])),
        ("bpcore.sklearn.MLPClassifier.predict", lambda: MLPClassifier().predict(X)),
        ("bpcore.sklearn.MLPClassifier.predict_proba", lambda: MLPClassifier().predict_proba(X)),
        ("bpcore.sklearn.MLPClassifier.predict_log_proba",
         lambda: MLPClassifier().predict_log_proba(X)),
        ("bpcore.sklearn.MLPRegressor", lambda: MLPRegressor(max_iter=0).fit(X, y)),
        ("bpcore.sklearn.MLPRegressor", lambda: MLPRegressor().score(X, y)),
        ("bpcore.sklearn.MLPRegressor.fit", lambda: MLPRegressor().fit(X, ["a"] * len(y))),
        ("bpcore.sklearn.MLPRegressor.fit",
         lambda: MLPRegressor(loss="poisson").fit(X, negative)),
        ("bpcore.sklearn.MLPRegressor.partial_fit",
         lambda: MLPRegressor(early_stopping=True).partial_fit(X, y)),
        ("bpcore.sklearn.MLPRegressor.predict", lambda: MLPRegressor().predict(X)),
    ]


def test_raises_sections_name_what_a_misuse_raises():
    # a fresh reader found these constructors and methods refusing arguments without a
    # Raises section saying so
    for name, misuse in _misuses():
        documented = raised_names(inspect.getdoc(resolve(name)))
        try:
            misuse()
        except Exception as error:
            kinds = {kind.__name__ for kind in type(error).__mro__}
            assert kinds & documented, (name, type(error).__name__, documented)
        else:
            raise AssertionError(f"{name}: the misuse raised nothing")


def test_raised_names_reads_a_raises_section():
    doc = "Text.\n\nRaises\n------\nValueError, TypeError\n    If so.\nsklearn.exceptions.X\n" \
          "    If not.\n\nExamples\n--------\n>>> 1\n1"
    assert raised_names(doc) == {"ValueError", "TypeError", "X"}
