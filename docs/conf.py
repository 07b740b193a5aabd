"""Sphinx configuration: the user guide, the API reference (numpydoc) and the example gallery.

Built offline from a clean clone: ``python -m sphinx -W -b html docs docs/_build/html``
(``pip install -e ".[docs]"`` installs every extension used here).

* Theme: pydata-sphinx-theme (scikit-learn's), navbar Getting started / User guide /
  Gallery / API, wide pages, previous / next links under each page (``_static/skae.css``).
  The theme takes both from the order of ``index.rst``'s toctree, so that order is the
  reading order: the guide's last page leads to the gallery, the last example to the API
  (with the API before the gallery, the gallery's "previous" was the API's last page).
* Formulas: MathJax 3 is copied into ``_static/mathjax`` by ``sphinx-mathjax-offline``,
  so pages opened from disk (file://) typeset without a network.
* Gallery: ``make_gallery.py`` writes ``gallery/`` from ``examples/*.py`` when the
  build starts, showing the figures the examples save (``docs/images``) beside their
  source, instead of running the examples at build time (sphinx-gallery would retrain
  every model on each build; CI already runs them all with ``--fast``).
* Benchmarks: ``_ext/skae_benchmarks.py`` reads ``benchmarks/bench_*.py`` and their
  Markdown results files (rendered by myst-parser) at every build.
"""

import os
import sys

DOCS = os.path.abspath(os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(DOCS))
sys.path.insert(0, DOCS)
sys.path.insert(0, os.path.join(DOCS, "_ext"))

import make_gallery  # noqa: E402

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_design",
    "myst_parser",
    "sphinx-mathjax-offline",  # MathJax 3 served from _static: formulas typeset offline
    "skae_benchmarks",
]
autosummary_generate = True
# the class pages list public methods and attributes only, as scikit-learn's do (_templates/autosummary)
templates_path = ["_templates"]
autodoc_default_options = {"members": True, "inherited-members": True, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# pages are reStructuredText; myst-parser renders only the benchmarks' Markdown results (skae-results)
exclude_patterns = ["_build", "_ext", "**.md"]
suppress_warnings = ["autosummary.import_cycle"]
toc_object_entries_show_parents = "hide"  # "fit()" in a page's contents, not "AutoEncoder.fit()"

html_theme = "pydata_sphinx_theme"
html_title = "skae"
html_static_path = ["_static"]
html_css_files = ["skae.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_prev_next": True,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],  # gallery pages remove it (their only heading is "Source")
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    "pygments_light_style": "tango",
    "pygments_dark_style": "monokai",
}
html_sidebars = {"**": ["sidebar-nav-bs"], "index": [], "getting_started": [], "gallery/index": []}
html_context = {"default_mode": "light"}


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out what the estimators inherit from scikit-learn (set_output, metadata routing):
    scikit-learn documents those, and their docstrings link into scikit-learn's own site.
    """
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("sklearn") or name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def _write_gallery(app):
    """The gallery pages from examples/*.py, before Sphinx looks for source files."""
    make_gallery.main()


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
    app.connect("builder-inited", _write_gallery)
