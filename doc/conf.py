"""Sphinx configuration of the sklearn_lofi documentation.

Build from the repository root with::

    python -m sphinx -b html doc doc/_build/html                    # runs the example gallery
    python -m sphinx -b html -D plot_gallery=0 doc doc/_build/html  # fast: examples shown, not run

The build needs no network: cross-references to other projects' documentation
(intersphinx) are off unless ``SKLEARN_LOFI_INTERSPHINX=1``.
"""

import os
import re
import sys
from datetime import date
from pathlib import Path

DOC_DIR = Path(__file__).resolve().parent

# Document the source tree next to this folder, installed or not; the folder
# itself is importable so that sphinx-gallery can load ``conf.GalleryOrder``.
sys.path.insert(0, str(DOC_DIR.parent))
sys.path.insert(0, str(DOC_DIR))

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
    "sphinx_gallery.gen_gallery",
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

# Every cross-reference to this package must resolve (a public object left out
# of the API reference shows up as a warning); references to other projects
# resolve only with intersphinx, so offline they are let through.
nitpicky = True
if not intersphinx_mapping:
    nitpick_ignore_regex = [(r"py:.*", r"(sklearn|numpy|scipy|matplotlib|joblib|pandas)(\..*)?")]


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


# -- example gallery (sphinx-gallery) ----------------------------------------
class GalleryOrder:
    """Sort key of the gallery: from the first fit to the paper's experiments.

    Examples not named here follow, by file name. sphinx-gallery needs the key
    by its import path (a class object in the configuration could not be
    cached), hence ``"conf.GalleryOrder"`` below.
    """

    ORDER = ("plot_quickstart.py", "plot_grid_search.py", "plot_spectrum.py", "plot_emergence.py",
             "plot_cifar10.py", "plot_filters.py")

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        rank = self.ORDER.index(name) if name in self.ORDER else len(self.ORDER)
        return f"{rank:03d}{name}"

    def __repr__(self):
        return "GalleryOrder"


# ``-D plot_gallery=0`` renders the examples without running them (the test
# suite runs each script on its own); the default runs every example and
# fails the build if one raises. Nothing here reaches the network: the links
# from example code to the API pages are resolved locally.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + "plot_",
    "within_subsection_order": "conf.GalleryOrder",
    "image_scrapers": ("matplotlib",),
    "doc_module": ("sklearn_lofi",),
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
}


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
