"""Sphinx configuration: the user guide (Markdown, through MyST) and the API reference
(autodoc from the docstrings, which are written as user guides).

Built by ``make docs`` (``sphinx-build -W --keep-going``: any warning fails ``make test``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import middleware  # noqa: E402

project = "wsgi-middleware-suite"
author = "wsgi-middleware-suite developers"
copyright = "wsgi-middleware-suite developers"
release = middleware.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown pages: `## Heading` anchors for in-page links, ```{directive}``` blocks.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference, as Flask and werkzeug set it up: source order, types in the description,
# defaults as written in the signature.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"wsgi-middleware-suite {release}"
html_show_sourcelink = False


# -- Pages included from elsewhere in the repository ----------------------------------------
# docs/ includes README files that live beside their code (benchmarks/, recipes/*/) and link
# to their neighbours by relative path. Rewrite those links when the file is included: a
# recipe folder becomes its page here, any other file a download of that file.

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_RECIPES = ROOT / "recipes"
_SRCDIR = Path(__file__).resolve().parent


def _rewrite_link(match: re.Match[str], folder: Path) -> str:
    target = match.group(1)
    if "://" in target or target.startswith(("#", "/", "mailto:")):
        return match.group(0)
    path, _, anchor = target.partition("#")
    resolved = (folder / path).resolve()
    if resolved.is_dir() and resolved.parent == _RECIPES:
        page = f"/recipes/{resolved.name}.md"
        return f"]({page}{'#' + anchor if anchor else ''})"
    if resolved.is_file():
        return f"](path:/{os.path.relpath(resolved, _SRCDIR)})"
    return match.group(0)


def _relink_included(app, relative_path, parent_docname, content):
    folder = (_SRCDIR / relative_path).resolve().parent
    content[0] = _LINK.sub(lambda m: _rewrite_link(m, folder), content[0])


def setup(app):
    app.connect("include-read", _relink_included)
