"""Sphinx configuration of skdae's documentation site.

``make docs`` sets up ``.venv`` with the ``docs`` extra and runs
``sphinx-build -W --keep-going -b html docs docs/_build/html``: every warning
(a broken cross-reference, an undocumented public parameter, a numpydoc
validation error, a gallery example that fails) fails the build. Add
``-D plot_gallery=0`` to build without running the gallery's examples.
"""

import sys

# sphinx-gallery resolves the names an example uses (for its links) in this process:
# IterativeImputer, which examples compare with, exists only once this is imported.
from sklearn.experimental import enable_iterative_imputer  # noqa: F401

import skdae
from skdae.datasets import MNIST_FILES, get_data_home

project = "skdae"
author = "the skdae developers"
copyright = "2026, the skdae developers"  # as LICENSE says
release = version = skdae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_design",  # the cards of the front page
    "myst_parser",  # the guide and benchmarks.md are Markdown, readable in the repository too
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_inventories",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes these next to the examples' pages; they are included
    # by the pages themselves, not documents of their own.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.codeobj.json",
    "auto_examples/*.md5",
]
# Every cross-reference must resolve: a reference to a name that is not
# documented (here or, through intersphinx, on the project it belongs to) is a
# warning, and the build treats warnings as errors.
nitpicky = True
default_role = "literal"  # `x` is code, as in the docstrings

# -- API reference ----------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types

numpydoc_show_class_members = False  # the templates list the methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc checks every docstring the site renders (validation errors are
# warnings, so they fail the build). Left out: GL01/GL02 (where the summary and
# closing quotes sit) and RT02 (a Returns line may name the returned object),
# as scikit-learn leaves them out; ES01, SA01 and EX01 (extended summary, See
# Also, Examples), which scikit-learn too asks of classes and functions only,
# not of methods and properties: the ``check_public_docstring`` hook below
# requires See Also and Examples on every public class and function.
numpydoc_validation_checks = {"all", "GL01", "GL02", "RT02", "ES01", "SA01", "EX01"}


_checked = set()


def check_public_docstring(app, what, name, obj, options, lines):
    """Require "See Also" and "Examples" on every public class and function."""
    if what not in ("class", "exception", "function") or not name.startswith("skdae."):
        return
    if name in _checked:  # autosummary and autodoc both read each docstring
        return
    _checked.add(name)
    from numpydoc.docscrape import get_doc_object
    from sphinx.util import logging

    doc = get_doc_object(obj, what="class" if what == "exception" else what)
    for section, code in (("See Also", "SA01"), ("Examples", "EX01")):
        if not doc[section]:
            logging.getLogger(__name__).warning(
                f"{name}: no {section} section ({code}); every public class and function needs one",
                type="numpydoc",
                subtype=code,
            )


def setup(app):
    # Before numpydoc rewrites the docstring (its priority is the default 500).
    app.connect("autodoc-process-docstring", check_public_docstring, priority=400)


# -- Links to the projects skdae builds on ------------------------------------
# Each inventory is a small file in docs/_inventories listing the objects these
# pages reference, with their addresses on the projects' own sites (see
# _inventories/make_inventories.py): the build reads no network, and the links
# still lead to the real pages.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_inventories/numpy.inv"),
    "sklearn": ("https://scikit-learn.org/stable/", "_inventories/sklearn.inv"),
    "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", "_inventories/skorch.inv"),
}


# -- Gallery ----------------------------------------------------------------
def _mnist_present():
    """MNIST's four files in skdae's data folder ($SKDAE_DATA, else ~/skdae_data)."""
    folder = get_data_home() / "mnist"
    return all((folder / f"{n}.gz").is_file() or (folder / n).is_file() for n in MNIST_FILES)


# The MNIST example runs only where MNIST's files are: a machine with no internet
# builds the site without them (the example's page shows its code, not its output).
RUN_EXAMPLES = "/plot_" if _mnist_present() else r"/plot_(?!denoise_mnist)"
if RUN_EXAMPLES != "/plot_":
    print(
        f"skdae docs: MNIST is not in {get_data_home() / 'mnist'}: plot_denoise_mnist.py is shown "
        "without running; to run it, set SKDAE_DATA to a folder holding mnist/ (python -c "
        "'from skdae.datasets import load_mnist; load_mnist(subset=\"all\", download=True)' "
        "fetches it into ~/skdae_data)",
        file=sys.stderr,
    )

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py files run; the others (distributed_fit.py, which needs
    # several processes) are rendered without being run.
    "filename_pattern": RUN_EXAMPLES,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdae",),
    "backreferences_dir": "generated/backreferences",
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    "plot_gallery": "True",
}

# -- Pictures drawn at build time (.. plot::) ---------------------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"savefig.bbox": "tight"}

# -- Markdown (the guide and docs/benchmarks.md) ----------------------------------------------
myst_heading_anchors = 3  # #speed-more-measurements, as the pages link it
myst_enable_extensions = ["deflist"]

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdae {version}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": [], "quickstart": []}
html_show_sourcelink = False
