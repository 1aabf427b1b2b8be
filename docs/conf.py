# Sphinx configuration of bpcore's documentation.
#
# Code examples in the pages: write them as MyST ```{doctest} fenced blocks (>>> lines and the
# output under them); `sphinx-build -b doctest docs docs/_build/doctest` runs every one.
# Plain ```pycon or ```python blocks are NOT run. Each page's examples start from
# doctest_global_setup below: numpy as np and bpcore are imported and NumPy prints 4 digits
# (np.set_printoptions(precision=4, suppress=True)), so printed arrays are the same on every
# CPU. Write `{doctest}` outputs in that form; NumPy scalars print as NumPy 2 shows them
# (np.True_, np.float64(0.5)): print them, or wrap them in bool() or float(). An example that
# needs an optional package (onnx, torch) takes
# `:skipif: __import__("importlib.util").util.find_spec("torch") is None`.
# The docstrings' examples (the API reference) run in tests/test_docstrings.py instead, on
# both backends, with the optional packages (onnx, torch) where they are installed.
#
# Build (the docs extra installs everything, nothing is downloaded while building):
#   pip install ".[docs]"
#   sphinx-build -W -n --keep-going -b html docs docs/_build/html
#   sphinx-build -W -n -b doctest docs docs/_build/doctest
# The build documents the INSTALLED bpcore: this file does not put the source tree on
# sys.path (an unbuilt checkout would quietly document, and run, the fallback only).
import doctest
import os

import bpcore
from numpydoc.xref import DEFAULT_LINKS
from sphinx import addnodes

# the gallery draws without a display
os.environ["MPLBACKEND"] = "Agg"

project = "bpcore"
author = "bpcore developers"
copyright = "bpcore developers"
release = bpcore.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",  # the reader's browser loads MathJax; the build fetches nothing
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",  # figures drawn from a page's own numbers
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# gallery/ holds the sources of the examples; sphinx-gallery writes the pages into
# auto_examples/ (its README.rst is not a page of its own)
exclude_patterns = ["_build", "gallery", "Thumbs.db", ".DS_Store"]

# -- references: `-n` (nitpicky) turns every reference that does not resolve into an error --
# A `name` between single backticks (in the docstrings: help() shows them as they are) links
# to the documented object of that name, and is set as code when there is none: see
# `soft_reference` at the end. Explicit roles (:func:, {func}, ...) must always resolve.
default_role = "soft-reference"
# Nothing outside bpcore is documented here (no intersphinx: the build downloads nothing), so
# write names of NumPy, SciPy or scikit-learn as code, not as references; Sphinx itself
# leaves Python's builtins (Bases: ValueError) unlinked without a warning.
nitpicky = True

# -- API reference: autosummary writes one page per name (docs/generated, git-ignored) -----
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # the numpydoc sections give the types; signatures stay short
autodoc_member_order = "groupwise"
# numpydoc lists a class's methods and properties in a table that links to their entries on
# the same page (the class template documents the members there, not in pages of their own)
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
# scikit-learn's own methods (score, get_params, ...) are not documented here
numpydoc_show_inherited_class_members = {"bpcore.sklearn.MLPClassifier": False,
                                         "bpcore.sklearn.MLPRegressor": False}
numpydoc_attributes_as_param_list = True
# Types in Parameters/Returns: bpcore's own names link, everything else stays plain text
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
# numpydoc's own aliases point into Python's and NumPy's documentation (intersphinx): keep
# those words plain text
numpydoc_xref_aliases = {name: name for name in DEFAULT_LINKS} | {
    # a leading "." lets Sphinx find the documented name, as when the type is written short
    "bpcore.Network": ".bpcore.Network",
    "bpcore.sklearn.MLPClassifier": ".bpcore.sklearn.MLPClassifier",
    "bpcore.sklearn.MLPRegressor": ".bpcore.sklearn.MLPRegressor",
    "Network": "bpcore.Network",
    "History": "bpcore.History",
    "Gradients": "bpcore.Gradients",
    "Explanation": "bpcore.Explanation",
    "Factor": "bpcore.network.Factor",
    "DivergenceError": "bpcore.DivergenceError",
    "Optimizer": "bpcore.optim.Optimizer",
    "OptimizerState": "bpcore.optim.OptimizerState",
    "SGD": "bpcore.SGD",
    "Adam": "bpcore.Adam",
    "Rprop": "bpcore.Rprop",
    "LBFGS": "bpcore.LBFGS",
    "ReduceOnPlateau": "bpcore.schedules.ReduceOnPlateau",
    "PlateauTracker": "bpcore.schedules.PlateauTracker",
    "Table": "bpcore.datasets.Table",
    "DataError": "bpcore.datasets.DataError",
    "MLPClassifier": "bpcore.sklearn.MLPClassifier",
    "MLPRegressor": "bpcore.sklearn.MLPRegressor",
}

# -- pages written in Markdown (MyST) -------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # [text](page.md#a-section-title) links to a section

# -- examples in the pages: run by `sphinx-build -b doctest` --------------------------------
doctest_global_setup = """
import numpy as np
import bpcore
np.set_printoptions(precision=4, suppress=True)
"""
# only the {doctest} blocks of the pages; see the comment at the top for the docstrings'
doctest_test_doctest_blocks = ""
# Sphinx's defaults, and whitespace as tests/test_docstrings.py treats it; not Sphinx's
# IGNORE_EXCEPTION_DETAIL: the pages show bpcore's error messages, which must be the real ones
doctest_default_flags = (doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                         | doctest.DONT_ACCEPT_TRUE_FOR_1)

# -- the gallery: every example runs when the html is built, and one that fails fails it ----
sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
}

# -- figures of the `.. plot::` directive: one PNG each, no source or format links ---------
plot_formats = [("png", 100)]
plot_html_show_formats = False
plot_html_show_source_link = False

# -- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"bpcore {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}


def soft_reference(name, rawtext, text, lineno, inliner, options=None, content=()):
    """The default role: a py:obj reference that is marked, so an unresolved one is code."""
    env = inliner.document.settings.env
    made, messages = env.get_domain("py").role("obj")("py:obj", rawtext, text, lineno, inliner,
                                                        options or {}, content)
    for node in made:
        if isinstance(node, addnodes.pending_xref):
            node["bpcore_soft"] = True
    return made, messages


def keep_soft_references_quiet(app, domain, node):
    # True: no warning; the reference stays its text, set as code
    return True if node.get("bpcore_soft") else None


def setup(app):
    app.add_role("soft-reference", soft_reference)
    app.connect("warn-missing-reference", keep_soft_references_quiet)
