"""The documentation a user reads with help(): every public function, class, method and
property has a numpydoc docstring, and every example in it runs.

The examples run with `doctest` on the imported modules (the installed package, as the rest of
the suite tests it), not with pytest's --doctest-modules over the source tree; the autouse
`backend` fixture runs them on both backends.
"""
import dataclasses
import doctest
import importlib
import inspect
import warnings

import pytest

import bpcore

# The modules whose public names users see, and, for doctests only, the one defining the
# public DivergenceError (its other names are internal).
PUBLIC_MODULES = ["bpcore", "bpcore.network", "bpcore.io", "bpcore.checks", "bpcore.datasets",
                  "bpcore.sklearn", "bpcore.optim", "bpcore.training", "bpcore.explain",
                  "bpcore.convert"]
# doctest runs the examples of what a module defines: the converters live in its submodules
DOCTEST_MODULES = PUBLIC_MODULES + ["bpcore._validation", "bpcore.convert._fann",
                                    "bpcore.convert._onnx", "bpcore.convert._torch"]


# the optional packages a module's examples use: they run where those are installed
EXAMPLES_NEED = {"bpcore.convert._onnx": ("onnx", "onnxruntime"), "bpcore.convert._torch": ("torch",)}


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_examples_run(name):
    for package in EXAMPLES_NEED.get(name, ()):
        pytest.importorskip(package, reason=f"the examples of {name} need {package}")
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        # an example that overflows or ends with a rising loss teaches the wrong thing
        warnings.simplefilter("error", RuntimeWarning)
        failed, attempted = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            raise_on_error=False)
    assert attempted > 0, f"{name} has no examples"
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed (see the captured stdout)"


def _from_bpcore(obj):
    return getattr(obj, "__module__", "").startswith("bpcore")


def public_objects():
    """{qualified name: object} of every public function, class, method and property."""
    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = set(getattr(module, "__all__", ()))
        names |= {name for name, obj in vars(module).items()
                  if not name.startswith("_") and getattr(obj, "__module__", None) == module_name}
        for name in names:
            obj = getattr(module, name)
            # constants, type aliases and scikit-learn's own NotFittedError are not ours to doc
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and _from_bpcore(obj):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for cls in [obj for obj in found.values() if inspect.isclass(obj)]:
        for name in dir(cls):
            member = inspect.getattr_static(cls, name)
            if name.startswith("_") or not (inspect.isfunction(member)
                                            or isinstance(member, property)):
                continue
            if isinstance(member, property) or _from_bpcore(member):
                found[f"{cls.__module__}.{cls.__qualname__}.{name}"] = member
    return found


def sections(doc):
    """{title: lines} of a numpydoc docstring's sections ("Parameters", "Returns", ...)."""
    lines = doc.splitlines() + [""]
    found, title, i = {}, None, 0
    while i < len(lines) - 1:
        line, underline = lines[i].strip(), lines[i + 1].strip()
        if line and underline == "-" * len(line):
            title, i = line, i + 2
            found[title] = []
            continue
        if title is not None:
            found[title].append(lines[i])
        i += 1
    return found


def entries(lines):
    """The names a Parameters or Attributes section documents: "name : type" lines (or bare
    "a, b" lines) at the section's own indentation."""
    names = set()
    for line in lines:
        if line and not line[0].isspace():
            listed = line.split(" : ")[0]
            names |= {name.strip().lstrip("*") for name in listed.split(",")}
    return names


def documentation_problems(obj):
    """What obj's docstring lacks, as a list of sentences (empty when it is complete)."""
    doc = inspect.getdoc(obj)
    if not doc:
        return ["no docstring"]
    if isinstance(obj, property):
        return []  # a property says what it is in its docstring; the class has the example
    found = sections(doc)
    problems = []
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        expected, title = {field.name for field in dataclasses.fields(obj)}, "Attributes"
    elif inspect.isclass(obj) and not inspect.isfunction(obj.__init__):
        expected, title = set(), "Parameters"  # e.g. an exception: it takes a message
    else:
        signature = inspect.signature(obj)
        expected = {name for name in signature.parameters if name not in ("self", "cls")}
        title = "Parameters"
        if not inspect.isclass(obj) and signature.return_annotation not in ("None", None):
            if "Returns" not in found:
                problems.append("it returns something but has no Returns section")
    if expected and title not in found:
        problems.append(f"it takes {sorted(expected)} but has no {title} section")
    elif expected and entries(found[title]) != expected:
        problems.append(f"its {title} section documents {sorted(entries(found[title]))}, "
                        f"but it takes {sorted(expected)}")
    if not any(line.lstrip().startswith(">>>") for line in found.get("Examples", [])):
        problems.append("it has no Examples section with an example")
    return problems


PUBLIC = public_objects()


def test_the_public_surface_is_all_there():
    # what users call must be collected, or the test below checks too little
    for name in bpcore.__all__:
        obj = getattr(bpcore, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert f"{obj.__module__}.{obj.__qualname__}" in PUBLIC, name
    for name in ["network.Network.fit", "network.Network.step", "network.Network.weights",
                 "io.save", "io.load", "datasets.load_iris", "datasets.read_table",
                 "datasets.Table.numeric", "sklearn.MLPClassifier.predict_proba",
                 "sklearn.MLPRegressor.partial_fit", "sklearn.from_sklearn", "sklearn.to_sklearn"]:
        assert f"bpcore.{name}" in PUBLIC, name


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_names_are_documented(name):
    assert documentation_problems(PUBLIC[name]) == [], name


def test_the_check_finds_what_is_missing():
    def bare(x):
        return x

    def no_returns(x: int) -> int:
        """Twice x.

        Parameters
        ----------
        x : int
            A number.

        Examples
        --------
        >>> 1
        1
        """
        return 2 * x

    def stale(x: int, y: int) -> None:
        """Nothing.

        Parameters
        ----------
        x : int
            A number.
        z : int
            Renamed since.
        """

    assert documentation_problems(bare) == ["no docstring"]
    assert documentation_problems(no_returns) == [
        "it returns something but has no Returns section"]
    assert documentation_problems(stale) == [
        "its Parameters section documents ['x', 'z'], but it takes ['x', 'y']",
        "it has no Examples section with an example"]
