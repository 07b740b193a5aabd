"""Sphinx configuration: the user guide, the API reference (numpydoc) and the example gallery.

Built offline from a clean clone: ``python -m sphinx -W -b html docs docs/_build/html``.
The gallery shows the figures the examples save (``docs/images``) beside their source,
instead of running the examples at build time (sphinx-gallery would retrain every model
on each build; CI already runs them all with ``--fast``).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "scikit-learn autoencoders on PyTorch", "fixed_sidebar": True}
exclude_patterns = ["_build"]
suppress_warnings = ["autosummary.import_cycle"]


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out what the estimators inherit from scikit-learn (set_output, metadata routing):
    scikit-learn documents those, and their docstrings link into scikit-learn's own site.
    """
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("sklearn") or name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
