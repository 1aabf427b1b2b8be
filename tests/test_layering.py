"""The package's layering, read from the source alone: bpcore is never imported here.

Every module under bpcore/ (subpackages included) is parsed with `ast`, and each import of one
of the package's own modules becomes an edge: module-level and function-level imports alike (a
function-level import still runs, which is how network -> io -> network once hid a cycle), and
`importlib.import_module("...")` with a literal name. Imports under `if TYPE_CHECKING:` never
run and are not edges. The compiled modules have no .py source and are plain nodes.

The package's `__init__` is the top node: `from .x import y` in a submodule also imports the
package first, but that implicit parent import is not an edge; `from . import x` is an edge to
the module x, and `from bpcore import X` / `from . import X` with X not a module is an import
of the package itself, which only the top layer may do.
"""
import ast
import functools
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

# The layers of bpcore, lowest first; CONTRIBUTING.md describes them. A module may import only
# modules of its own layer or a lower one. Keys are names below `bpcore`; a subpackage's entry
# covers everything under it. A module missing here fails test_every_module_has_a_layer, so a
# new module is placed deliberately; an entry whose module does not exist (yet) is skipped.
LAYERS = {
    # 0: tables, limits and input checks; they import no other bpcore module
    "_version": 0, "_spec": 0, "_layout": 0, "_validation": 0, "_command_line": 0,
    "_numpy_math": 0, "datasets": 0,
    # 1: the kernels: the NumPy twin and the compiled modules
    "_fallback": 1, "_kernels": 1, "_kernels_avx2": 1, "_kernels_avx512": 1, "_blas": 1,
    # 2: the one module that chooses the kernels
    "_backend": 2,
    # 3: optimizers, the training loop and helpers of the network
    "optim": 3, "explain": 3, "progress": 3, "_files": 3, "training": 3,
    "schedules": 3,
    # 4
    "network": 4,
    # 5: what works on a network through its public state
    "checks": 5, "io": 5,
    # 6: the shells users call, and the package itself; exception to "no private names":
    # __init__ may import private helpers of _command_line (PRIVATE_IMPORTS_ALLOWED)
    "sklearn": 6, "cli": 6, "bench": 6, "bench.optimizers": 6, "bench.quality": 6,
    "bench.estimators": 6, "convert": 6,
    "__main__": 6, "__init__": 6,
}
KERNEL_LAYER = 1
OPTIONAL_LAYER = 3  # the lowest layer that may import an optional package (lazily)
# the modules built from src/ (no .py); `_blas` may be present or not, it is a node either way
COMPILED = ("_kernels", "_kernels_avx2", "_kernels_avx512", "_blas")
# imported by compiled code only (cimport), never by a .py module
COMPILED_ONLY = {"_blas"}
# the one module that imports a kernel module; everyone else reads `_backend.kernels`
KERNEL_CHOOSER = "_backend"
# (importer, module) pairs where the importer may read the module's underscore names
PRIVATE_IMPORTS_ALLOWED = {("__init__", "_command_line")}
OPTIONAL_PACKAGES = {"torch", "sklearn", "scipy", "matplotlib", "dask", "distributed", "joblib",
                     "pandas", "tqdm", "onnx", "onnxruntime", "threadpoolctl"}
# module -> optional packages it may import at module level. bpcore.sklearn, the drop-in
# scikit-learn estimators, subclasses scikit-learn's base classes, so it needs scikit-learn to
# import (and says so in its ImportError); nothing else imports an optional package at module
# level.
MODULE_LEVEL_OPTIONAL_ALLOWED: dict[str, set[str]] = {"sklearn": {"sklearn"}}

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "bpcore"


class Import(NamedTuple):
    importer: str      # the importing module, dotted: "bpcore.network"
    target: str        # the imported module: "bpcore.io", or an outside one: "sklearn.utils"
    where: str         # "bpcore/network.py:948"
    in_function: bool  # inside a def: runs when called, not when the module is imported
    typing_only: bool  # under `if TYPE_CHECKING:`: never runs
    internal: bool     # the target is the package or one of its modules


class PrivateRead(NamedTuple):
    reader: str        # the module that reads
    module: str        # the module whose name it reads
    name: str          # the underscore name
    where: str


class Problem(NamedTuple):
    module: str        # the module that breaks the rule
    subject: str       # what it touches: a module or a name
    message: str


@dataclass
class Analysis:
    package: str                                  # "bpcore"
    modules: set[str] = field(default_factory=set)  # every module: .py files and compiled nodes
    imports: list[Import] = field(default_factory=list)
    private_reads: list[PrivateRead] = field(default_factory=list)

    def edges(self) -> list[Import]:
        """The imports between the package's modules that run."""
        return [i for i in self.imports if i.internal and not i.typing_only]

    def short(self, module: str) -> str:
        """The name LAYERS uses: "bpcore.bench.cases" -> "bench.cases", "bpcore" -> "__init__"."""
        return "__init__" if module == self.package else module[len(self.package) + 1:]

    def is_internal(self, module: str) -> bool:
        return module == self.package or module.startswith(self.package + ".")


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _ModuleReader(ast.NodeVisitor):
    """Records one module's imports and the underscore names it reads from other modules."""

    def __init__(self, analysis: Analysis, module: str, location: str, is_package: bool):
        self.analysis = analysis
        self.module = module
        self.location = location
        # the package relative imports start from: a package's own, a module's parent
        self.package = module if is_package else module.rpartition(".")[0]
        # local name -> the package module it names; one table per file: a name bound to a
        # module in one function and to something else in another is rare enough to ignore
        self.bound: dict[str, str] = {}
        self.function_depth = 0
        self.typing_only = False

    def read(self, tree: ast.Module) -> None:
        self.visit(tree)
        # second pass, once every import is bound: attribute reads such as `_backend._x`
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                self.check_attribute(self.module_named_by(node.value), node.attr, node)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "getattr" and len(node.args) >= 2):
                name = _literal(node.args[1])
                if name is not None:
                    self.check_attribute(self.module_named_by(node.args[0]), name, node)

    def module_named_by(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            parent = self.module_named_by(node.value)
            if parent is not None and f"{parent}.{node.attr}" in self.analysis.modules:
                return f"{parent}.{node.attr}"
        return None

    def check_attribute(self, module: str | None, name: str, node: ast.AST) -> None:
        # an underscore *module* (`bpcore._backend`) is fine; an underscore attribute is not
        if module is not None and _is_private(name) and f"{module}.{name}" not in self.analysis.modules:
            self.analysis.private_reads.append(PrivateRead(self.module, module, name, self.where(node)))

    def where(self, node: ast.AST) -> str:
        return f"{self.location}:{getattr(node, 'lineno', '?')}"

    def record(self, target: str, node: ast.AST) -> None:
        self.analysis.imports.append(Import(self.module, target, self.where(node),
                                            self.function_depth > 0, self.typing_only,
                                            self.analysis.is_internal(target)))

    def resolve(self, module: str | None, level: int, package: str | None = None) -> str | None:
        """The absolute name of `from <level dots><module> import ...`, None above the top."""
        if level == 0:
            return module
        parts = (package or self.package).split(".")
        if level - 1 >= len(parts):
            return None
        base = ".".join(parts[:len(parts) - (level - 1)])
        return f"{base}.{module}" if module else base

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.typing_only = self.typing_only, True
        for statement in node.body:
            self.visit(statement)
        self.typing_only = outer
        for statement in node.orelse:  # the `else:` of `if TYPE_CHECKING:` is what runs
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            # `import bpcore.x.y` imports bpcore.x.y (its parents implicitly) and binds `bpcore`
            self.record(alias.name, node)
            if self.analysis.is_internal(alias.name):
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:
                    self.bound[alias.name.partition(".")[0]] = self.analysis.package

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.resolve(node.module, node.level)
        if base is None:
            return
        if not self.analysis.is_internal(base):
            self.record(base, node)
            return
        targets = set()
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in self.analysis.modules:  # `from . import x`: an edge to the module x
                targets.add(submodule)
                self.bound[alias.asname or alias.name] = submodule
            else:  # a name defined in `base`: an edge to base, and maybe a private read
                targets.add(base)
                if _is_private(alias.name):
                    self.analysis.private_reads.append(
                        PrivateRead(self.module, base, alias.name, self.where(node)))
        for target in sorted(targets):
            self.record(target, node)

    def visit_Call(self, node: ast.Call) -> None:
        # importlib.import_module("bpcore._kernels") imports as surely as an import statement
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        text = _literal(node.args[0]) if node.args else None
        if name in ("import_module", "__import__") and text is not None:
            package = _literal(node.args[1]) if name == "import_module" and len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "package":
                    package = _literal(keyword.value)
            level = len(text) - len(text.lstrip("."))
            target = self.resolve(text[level:] or None, level, package)
            if target is not None:
                self.record(target, node)
        self.generic_visit(node)


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def analyse(package_dir: Path, compiled: tuple[str, ...] = ()) -> Analysis:
    """Every import between the modules of the package at `package_dir`, from the source.
    `compiled`: names (below the package) of compiled modules that are nodes even if not built."""
    analysis = Analysis(package_dir.name)
    sources = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    analysis.modules = {module_name(path, package_dir) for path in sources}
    analysis.modules |= {f"{analysis.package}.{name}" for name in compiled}
    for path in package_dir.rglob("*"):  # built extensions: _kernels.cpython-311-x86_64-linux-gnu.so
        if path.suffix in (".so", ".pyd") and "__pycache__" not in path.parts:
            analysis.modules.add(module_name(path.with_name(path.name.partition(".")[0]), package_dir))
    for path in sources:
        location = path.relative_to(package_dir.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=location)
        _ModuleReader(analysis, module_name(path, package_dir), location,
                      path.name == "__init__.py").read(tree)
    return analysis


def layer_of(analysis: Analysis, module: str, layers: dict[str, int]) -> int | None:
    """The module's layer: its own entry, else its nearest enclosing subpackage's; None if neither."""
    parts = analysis.short(module).split(".")
    while parts:
        if ".".join(parts) in layers:
            return layers[".".join(parts)]
        parts.pop()
    return None


def _how(edge: Import) -> str:
    return f"{edge.where}, inside a function" if edge.in_function else edge.where


def find_cycles(analysis: Analysis) -> list[list[Import]]:
    """One shortest cycle per strongly connected group of modules, as its edges."""
    graph: dict[str, dict[str, Import]] = {}
    for edge in sorted(analysis.edges()):
        graph.setdefault(edge.importer, {}).setdefault(edge.target, edge)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        for successor in graph.get(node, {}):
            if successor not in index:
                visit(successor)
                lowest[node] = min(lowest[node], lowest[successor])
            elif successor in stack:
                lowest[node] = min(lowest[node], index[successor])
        if lowest[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        start = min(component)
        if len(component) == 1 and start not in graph.get(start, {}):
            continue
        # breadth-first from start back to start, inside the component: a shortest cycle
        came_by: dict[str, Import] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if start in graph.get(node, {}):
                path = [graph[node][start]]
                while node != start:
                    path.append(came_by[node])
                    node = came_by[node].importer
                cycles.append(path[::-1])
                break
            for successor, edge in graph.get(node, {}).items():
                if successor in component and successor not in came_by:
                    came_by[successor] = edge
                    queue.append(successor)
    return cycles


def unplaced_modules(analysis: Analysis, layers: dict[str, int]) -> list[Problem]:
    problems = [Problem(m, m, f"{m} is in the package but not in LAYERS: place it in a layer")
                for m in sorted(analysis.modules) if layer_of(analysis, m, layers) is None]
    found = {p.module for p in problems}
    for edge in analysis.edges():
        if (edge.target not in analysis.modules and edge.target not in found
                and layer_of(analysis, edge.target, layers) is None):
            found.add(edge.target)
            problems.append(Problem(edge.target, edge.importer,
                                    f"{edge.importer} imports {edge.target} ({_how(edge)}), which "
                                    f"is neither in the package nor in LAYERS"))
    return problems


def layer_problems(analysis: Analysis, layers: dict[str, int]) -> list[Problem]:
    problems = []
    for edge in analysis.edges():
        low = layer_of(analysis, edge.importer, layers)
        high = layer_of(analysis, edge.target, layers)
        if low is None or high is None or high <= low:  # unplaced: unplaced_modules says so
            continue
        what = edge.target
        if edge.target == analysis.package:
            what = (f"the package {edge.target} itself (`from {edge.target} import X` or "
                    f"`from . import X` where X is not a module)")
        problems.append(Problem(edge.importer, edge.target,
                                f"{edge.importer} (layer {low}) imports {what} (layer {high}) at "
                                f"{_how(edge)}: a module may import only its own layer or lower"))
    return problems


def kernel_problems(analysis: Analysis, kernels: set[str], compiled_only: set[str],
                    chooser: str) -> list[Problem]:
    problems = []
    for edge in analysis.edges():
        target = analysis.short(edge.target)
        if target in compiled_only:
            problems.append(Problem(edge.importer, edge.target,
                                    f"{edge.importer} imports {edge.target} at {_how(edge)}: only "
                                    f"compiled code may import it"))
        elif target in kernels and analysis.short(edge.importer) != chooser:
            problems.append(Problem(edge.importer, edge.target,
                                    f"{edge.importer} imports the kernel module {edge.target} at "
                                    f"{_how(edge)}: only {analysis.package}.{chooser} imports "
                                    f"kernels; use {analysis.package}.{chooser}.kernels"))
    return problems


def kernel_modules(layers: dict[str, int]) -> set[str]:
    return {name for name, layer in layers.items() if layer == KERNEL_LAYER} - COMPILED_ONLY


def private_problems(analysis: Analysis, allowed: set[tuple[str, str]]) -> list[Problem]:
    return [Problem(read.reader, read.name,
                    f"{read.reader} reads {read.module}'s private name {read.name!r} at "
                    f"{read.where}: give {read.module} a public name for it")
            for read in analysis.private_reads
            if read.reader != read.module
            and (analysis.short(read.reader), analysis.short(read.module)) not in allowed]


def optional_problems(analysis: Analysis, layers: dict[str, int], optional: set[str],
                      module_level_allowed: dict[str, set[str]]) -> list[Problem]:
    problems = []
    for imported in analysis.imports:
        package = imported.target.partition(".")[0]
        if imported.internal or imported.typing_only or package not in optional:
            continue
        layer = layer_of(analysis, imported.importer, layers)
        if layer is not None and layer < OPTIONAL_LAYER:
            problems.append(Problem(imported.importer, package,
                                    f"{imported.importer} (layer {layer}) imports the optional "
                                    f"package {package} at {imported.where}: only layers >= "
                                    f"{OPTIONAL_LAYER} may"))
        if (not imported.in_function
                and package not in module_level_allowed.get(analysis.short(imported.importer), ())):
            problems.append(Problem(imported.importer, package,
                                    f"{imported.importer} imports the optional package {package} "
                                    f"at module level ({imported.where}): import it inside the "
                                    f"function that needs it, so the module imports without it"))
    return problems


def _report(problems: list[Problem]) -> str:
    return "\n".join(sorted(p.message for p in problems))


@functools.cache
def bpcore_analysis() -> Analysis:
    return analyse(PACKAGE_DIR, COMPILED)


# ---- the rules, on bpcore ----

def test_import_graph_has_no_cycle():
    cycles = find_cycles(bpcore_analysis())
    assert not cycles, "import cycles:\n" + "\n".join(
        cycle[0].importer + "".join(f" -> {edge.target} ({_how(edge)})" for edge in cycle)
        for cycle in cycles)


def test_every_module_has_a_layer():
    problems = unplaced_modules(bpcore_analysis(), LAYERS)
    assert not problems, _report(problems)


def test_imports_point_down_the_layers():
    problems = layer_problems(bpcore_analysis(), LAYERS)
    assert not problems, _report(problems)


def test_only_the_backend_imports_kernels():
    problems = kernel_problems(bpcore_analysis(), kernel_modules(LAYERS), COMPILED_ONLY,
                               KERNEL_CHOOSER)
    assert not problems, _report(problems)


def test_no_module_reads_private_names_of_another():
    problems = private_problems(bpcore_analysis(), PRIVATE_IMPORTS_ALLOWED)
    assert not problems, _report(problems)


def test_optional_packages_are_imported_lazily_high_up():
    problems = optional_problems(bpcore_analysis(), LAYERS, OPTIONAL_PACKAGES,
                                 MODULE_LEVEL_OPTIONAL_ALLOWED)
    assert not problems, _report(problems)


# ---- the analysis itself: it finds what is there and can fail ----

def test_analysis_finds_known_edges_of_bpcore():
    analysis = bpcore_analysis()
    edges = {(edge.importer, edge.target) for edge in analysis.edges()}
    assert ("bpcore.cli", "bpcore.network") in edges
    # a function-level import is an edge: _backend imports the fallback inside load()
    assert ("bpcore._backend", "bpcore._fallback") in edges
    assert {"bpcore", "bpcore.network", "bpcore._kernels", "bpcore._blas"} <= analysis.modules


SYNTHETIC = {
    "__init__.py": "from . import chooser\nfrom ._cl import _helper\nfrom .high import Thing\n",
    "_cl.py": "def _helper():\n    return 1\n",
    "kern.py": "def step():\n    return 0\n",
    "_native.cpython-311-x86_64-linux-gnu.so": "",  # a compiled module: a node without source
    "chooser.py": "def load():\n    from . import kern\n    return kern\n",
    "low.py": ("from typing import TYPE_CHECKING\n"
               "import torch\n"
               "if TYPE_CHECKING:\n"
               "    from .sub.deep import f\n"
               "else:\n"
               "    from . import kern\n"
               "def later():\n"
               "    from . import high\n"
               "    import pkg._cl as cl\n"
               "    return high, cl._helper()\n"),
    "high.py": "from .low import later\nfrom . import _native\nclass Thing:\n    pass\n",
    "extra.py": "",
    "sub/__init__.py": "",
    "sub/deep.py": ("import importlib\n"
                    "from .. import _cl, low\n"
                    "from ..low import _secret\n"
                    "from . import leaf\n"
                    "from pkg import Thing\n"
                    "def f():\n"
                    "    import sklearn\n"
                    "    return importlib.import_module('pkg.high'), getattr(low, '_hidden')\n"),
    "sub/leaf.py": "import pandas\n",
}
SYNTHETIC_LAYERS = {"_cl": 0, "low": 0, "kern": 1, "_native": 1, "chooser": 2, "high": 3,
                    "sub": 3, "__init__": 4}


def synthetic_analysis(tmp_path: Path) -> Analysis:
    for name, text in SYNTHETIC.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return analyse(tmp_path / "pkg")


def test_analysis_resolves_every_kind_of_import(tmp_path):
    analysis = synthetic_analysis(tmp_path)
    assert {(edge.importer, edge.target) for edge in analysis.edges()} == {
        ("pkg", "pkg.chooser"), ("pkg", "pkg._cl"), ("pkg", "pkg.high"),
        ("pkg.chooser", "pkg.kern"),
        ("pkg.low", "pkg.kern"), ("pkg.low", "pkg.high"), ("pkg.low", "pkg._cl"),
        ("pkg.high", "pkg.low"), ("pkg.high", "pkg._native"),
        ("pkg.sub.deep", "pkg._cl"), ("pkg.sub.deep", "pkg.low"), ("pkg.sub.deep", "pkg.sub.leaf"),
        ("pkg.sub.deep", "pkg"), ("pkg.sub.deep", "pkg.high"),
    }
    typing_only = [(i.importer, i.target) for i in analysis.imports if i.typing_only]
    assert typing_only == [("pkg.low", "pkg.sub.deep")]


def test_checks_catch_planted_violations(tmp_path):
    analysis = synthetic_analysis(tmp_path)

    cycles = find_cycles(analysis)
    assert [sorted(edge.importer for edge in cycle) for cycle in cycles] == [["pkg.high", "pkg.low"]]

    assert {p.module for p in unplaced_modules(analysis, SYNTHETIC_LAYERS)} == {"pkg.extra"}

    assert {(p.module, p.subject) for p in layer_problems(analysis, SYNTHETIC_LAYERS)} == {
        ("pkg.low", "pkg.high"), ("pkg.low", "pkg.kern"), ("pkg.sub.deep", "pkg")}

    assert {(p.module, p.subject) for p in kernel_problems(analysis, {"kern"}, {"_native"},
                                                           "chooser")} == {
        ("pkg.low", "pkg.kern"), ("pkg.high", "pkg._native")}

    assert {(p.module, p.subject) for p in private_problems(analysis, {("__init__", "_cl")})} == {
        ("pkg.low", "_helper"), ("pkg.sub.deep", "_secret"), ("pkg.sub.deep", "_hidden")}
    assert ("pkg", "_helper") in {(p.module, p.subject) for p in private_problems(analysis, set())}

    optional = {(p.module, p.subject, "module level" in p.message)
                for p in optional_problems(analysis, SYNTHETIC_LAYERS, OPTIONAL_PACKAGES, {})}
    assert optional == {("pkg.low", "torch", False), ("pkg.low", "torch", True),
                        ("pkg.sub.leaf", "pandas", True)}
    allowed = optional_problems(analysis, SYNTHETIC_LAYERS, OPTIONAL_PACKAGES,
                                {"sub.leaf": {"pandas"}})
    assert "pkg.sub.leaf" not in {p.module for p in allowed}
