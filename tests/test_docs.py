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
