"""Sphinx configuration of the sklearn_lofi documentation.

Build with ``python -m sphinx -b html doc doc/_build/html`` from the repository
root. The build needs no network: cross-references to other projects'
documentation (intersphinx) are off unless ``SKLEARN_LOFI_INTERSPHINX=1``.
"""

import os
import re
import sys
from datetime import date

# Document the source tree next to this folder, installed or not.
sys.path.insert(0, os.path.abspath(".."))

import sklearn_lofi  # noqa: E402

project = "sklearn-lofi"
author = "sklearn_lofi developers"
copyright = f"{date.today().year}, {author}"
release = sklearn_lofi.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": True}
autodoc_typehints = "none"
# The class template lists the members itself; numpydoc must not add a second
# (stub-less) member table.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- intersphinx: off by default (offline builds) ----------------------------
if os.environ.get("SKLEARN_LOFI_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }
else:
    intersphinx_mapping = {}


# Methods inherited from scikit-learn (score, set_output, metadata routing, ...)
# carry :ref: and :term: roles that point into scikit-learn's own documentation.
# Offline those targets do not exist, so such roles are turned into plain text
# in docstrings that come from scikit-learn itself (never in sklearn_lofi's).
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`<]*))`")


def _plain_foreign_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if intersphinx_mapping or not module.startswith("sklearn."):
        return
    for i, line in enumerate(lines):
        lines[i] = _FOREIGN_ROLE.sub(lambda m: m.group(1) or f"``{m.group(2)}``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_foreign_roles)


# -- HTML -------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:
    html_theme = "alabaster"
    html_theme_options = {"description": "Neural Low-Degree Filtering for scikit-learn"}
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {"navigation_with_keys": False}
html_title = f"sklearn-lofi {release}"
html_static_path = []
