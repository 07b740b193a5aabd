"""Write the example gallery: ``docs/gallery/index.rst`` (thumbnails) and one page per ``examples/*.py``.

Each page shows the figures its example saves, the example's module docstring,
the command that runs it and its full source.  The figures are found in the
source itself (every string literal naming a ``.png`` / ``.svg`` / ``.jpg``
file, which is what the examples pass to ``savefig``) and shown from
``docs/images`` under the same file names; a figure not there yet is listed
instead of shown, so a new example gets its page (source, no image) before
anyone commits its figures.

``docs/conf.py`` runs this at every build (Sphinx's ``builder-inited`` event),
so the gallery always matches ``examples/``; run it by hand to look at the
pages: ``python docs/make_gallery.py``.  Files are rewritten only when their
text changes, so unchanged pages are not rebuilt.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"
IMAGES = DOCS / "images"
OUT = DOCS / "gallery"

#: the examples shown first, in this order (a new example follows them, by file name)
ORDER = [
    "quickstart_digits",
    "pipeline_gridsearch_digits",
    "generation_digits",
    "swiss_roll_ae_vs_vae",
    "convolutional_digits",
    "anomaly_detection",
    "mixed_types_penguins",
    "missing_values",
    "synthetic_tables",
    "write_a_plugin",
]
_FIGURE = re.compile(r"^[\w.-]+\.(png|svg|jpg|jpeg|gif)$", re.IGNORECASE)
GENERATED = (
    ":html_theme.sidebar_secondary.remove: true\n\n"  # no "On this page" column: the width goes to the code
    ".. This file is written by docs/make_gallery.py at every build; edit that script or the example.\n\n"
)


def example_files() -> list[Path]:
    # make_figures.py is the tool that runs the examples, not one of them
    files = {p.stem: p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_") and p.name != "make_figures.py"}
    first = [files[name] for name in ORDER if name in files]
    return first + sorted(p for name, p in files.items() if name not in ORDER)


def figures(tree: ast.Module) -> list[str]:
    """File names of the figures the example saves, in the order they appear in its code."""
    docstring = tree.body[0].value if tree.body and isinstance(tree.body[0], ast.Expr) else None
    names: list[str] = []
    for node in ast.walk(tree):
        if node is docstring or not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if _FIGURE.match(node.value) and node.value not in names:
            names.append(node.value)
    positions = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names and node is not docstring:
            positions.setdefault(node.value, (node.lineno, node.col_offset))
    return sorted(names, key=lambda n: positions[n])


#: roles and directives Sphinx defines that docutils alone does not know
SPHINX_NAMES = {
    "class", "func", "meth", "attr", "mod", "obj", "exc", "data", "const", "ref", "doc", "term", "file",
    "download", "envvar", "option", "program", "samp", "kbd", "abbr", "command", "py:class", "py:func",
    "py:meth", "py:attr", "py:mod", "py:obj", "py:exc", "py:data", "versionadded", "versionchanged",
    "deprecated", "seealso", "literalinclude", "autofunction", "autoclass", "currentmodule", "toctree",
}


def rst_problems(text: str) -> list[str]:
    """Warnings and errors docutils reports for ``text`` (any of them fails ``sphinx -W``).

    Roles and directives that only Sphinx knows (``:class:``, ``versionadded``:
    ``SPHINX_NAMES``) are not counted: Sphinx resolves them.
    """
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    try:
        from docutils.frontend import get_default_settings
    except ImportError:  # docutils < 0.19
        from docutils.frontend import OptionParser

        settings = OptionParser(components=(Parser,)).get_default_values()
    else:
        settings = get_default_settings(Parser)
    settings.report_level, settings.halt_level, settings.warning_stream = 5, 5, io.StringIO()
    document = new_document("<docstring>", settings)
    problems: list[str] = []

    def note(message) -> None:
        text = message.astext()
        unknown = re.search(r'Unknown (interpreted text role|directive type) "([^"]+)"', text)
        if message["level"] >= 2 and not (unknown and unknown.group(2) in SPHINX_NAMES):
            problems.append(text)

    document.reporter.attach_observer(note)
    try:
        Parser().parse(text, document)
    except Exception as error:  # a docstring docutils cannot parse at all
        problems.append(repr(error))
    return problems


_COMMAND = re.compile(r"^\s+(\$ )?(python|pip|\.venv|skae|accelerate|torchrun)\b")


def commands_as_code(text: str) -> str:
    """Indented command lines after a paragraph (as docstrings show how to run a script) become code blocks."""
    lines = text.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        previous = next((ln for ln in reversed(lines[: max(i - 1, 0)]) if ln.strip()), "")
        if (_COMMAND.match(line) and i > 0 and not lines[i - 1].strip()
                and not previous.startswith((" ", "\t")) and not previous.rstrip().endswith("::")):
            out += [".. code-block:: bash", ""]
        out.append(line)
    return "\n".join(out)


def short_title(summary: str, limit: int = 64) -> str:
    """A page title from a docstring's first line: without a closing parenthesis; when long, the part
    before its first comma if that part says enough on its own (30 characters or more).
    """
    title = re.sub(r"\s*\([^()]*\)$", "", summary).strip()
    if len(title) > limit and len(title.split(", ")[0]) >= 30:
        title = title.split(", ")[0]
    return title


def description(docstring: str) -> tuple[str, str, str]:
    """The docstring's first line, a short title from it, and the rest as reStructuredText.

    A docstring that would make docutils warn is shown as a literal block instead.
    """
    lines = docstring.strip().splitlines()
    summary = lines[0].strip().rstrip(".") if lines else ""
    text = "\n".join(lines[1:]).strip()
    body = commands_as_code(text)
    if body and rst_problems(body):
        body = "::\n\n" + "\n".join("   " + ln for ln in text.splitlines())
    if rst_problems(summary):
        summary = re.sub(r"[`*|_]", "", summary)
    return summary, short_title(summary), body


def heading(text: str, mark: str = "=") -> str:
    # a title's underline counts characters; inline literals count as written
    return f"{text}\n{mark * max(len(text), 3)}\n"


def options(source: str) -> str:
    flags = [flag for flag in ("--fast", "--out DIR") if f'"{flag.split()[0]}"' in source]
    return "".join(f" [{flag}]" for flag in flags)


def example_page(path: Path) -> tuple[str, dict]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    summary, title, body = description(ast.get_docstring(tree) or "")
    title = title or path.name
    shown = [f for f in figures(tree) if (IMAGES / f).is_file()]
    missing = [f for f in figures(tree) if not (IMAGES / f).is_file()]
    rel = f"../../examples/{path.name}"
    parts = [GENERATED, f".. _gallery_{path.stem}:\n\n", heading(title), "\n"]
    if summary and summary != title:
        parts.append(f".. rst-class:: skae-lead\n\n{summary}.\n\n")
    if body:
        parts.append(body + "\n\n")
    parts.append(f"Run it from a clone of the repository (:download:`download {path.name} <{rel}>`):\n\n")
    parts.append(f".. code-block:: bash\n\n   python examples/{path.name}{options(source)}\n\n")
    for name in shown:
        parts.append(f".. image:: ../images/{name}\n   :alt: {name}\n   :class: skae-figure\n\n")
    if missing:
        listed = ", ".join(f"``{name}``" for name in missing)
        parts.append(f".. note::\n\n   Also saved by the example, not shown here yet: {listed}.\n\n")
    parts.append(heading("Source", "-") + "\n")
    parts.append(f".. literalinclude:: {rel}\n   :language: python\n\n")
    card = {"stem": path.stem, "name": path.name, "title": title, "image": shown[0] if shown else None}
    return "".join(parts), card


INDEX_INTRO = """\
Each example runs on data that ships with scikit-learn or palmerpenguins, prints
its key numbers and saves the figures shown here.  Run one from a clone of the
repository (``pip install -e ".[examples]"`` adds matplotlib and palmerpenguins):

.. code-block:: bash

   python examples/<name>.py [--fast] [--out DIR]

``--fast`` trains for a few steps only (CI runs every example that way; its numbers
are smoke-test settings, not the library's quality); ``--out`` is where figures go
(default ``examples/output``).  The figures here are those of a full run.

"""


def index_page(cards: list[dict]) -> str:
    parts = [GENERATED, ".. _gallery:\n\n", heading("Gallery"), "\n", INDEX_INTRO]
    parts.append(".. grid:: 1 2 3 3\n   :gutter: 3\n   :class-container: skae-gallery\n\n")
    for card in cards:
        parts.append(f"   .. grid-item-card:: {card['title']}\n")
        image = f"../images/{card['image']}" if card["image"] else "../_static/example_placeholder.svg"
        parts.append(f"      :img-top: {image}\n      :img-alt: {card['image'] or 'no figure yet'}\n")
        parts.append(f"      :link: {card['stem']}\n      :link-type: doc\n      :class-card: skae-thumb\n\n")
        parts.append(f"      ``{card['name']}``\n\n")
    parts.append(".. toctree::\n   :hidden:\n\n")
    parts += [f"   {card['stem']}\n" for card in cards]
    return "".join(parts)


def _write(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main() -> list[Path]:
    """Write the gallery; return the files written (unchanged ones are left alone)."""
    OUT.mkdir(exist_ok=True)
    written, cards, keep = [], [], {"index.rst"}
    for path in example_files():
        text, card = example_page(path)
        cards.append(card)
        keep.add(f"{path.stem}.rst")
        if _write(OUT / f"{path.stem}.rst", text):
            written.append(OUT / f"{path.stem}.rst")
    if _write(OUT / "index.rst", index_page(cards)):
        written.append(OUT / "index.rst")
    for stale in OUT.glob("*.rst"):  # an example that was removed or renamed
        if stale.name not in keep:
            stale.unlink()
    return written


if __name__ == "__main__":
    for path in main():
        print(f"wrote {path.relative_to(ROOT)}")
