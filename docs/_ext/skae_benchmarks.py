"""Sphinx directives and a role for the benchmarks page, read from ``benchmarks/`` at every build.

* ``.. skae-benchmarks::`` writes one section per results file (``benchmarks/results_*.md``, in
  ``ORDER``, then the others by name; a script that has written none yet gets a section saying
  so): a title (``TITLES``, else the script's docstring's first line), the script's one-line
  summary, the rest of its docstring (what it measures, how to run it) in a closed dropdown, and
  the results.  Each section has the label ``bench-<name>`` (``results_anomaly.md`` ->
  ``bench-anomaly``), for ``:ref:`` links from the summary table and from other pages.
* ``.. skae-results:: PATTERN ...`` renders the Markdown results files matching the patterns
  (``results_anomaly.md``) as tables, through myst-parser; a results file that does not exist
  yet gives a sentence saying so, never a warning (the build runs with ``-W``).  Headings inside
  a results file become bold lines, so a file's heading levels cannot clash with the page's
  sections.
* ``:skae-result:`FILE | HEADING | ROW | COLUMN``` is one cell of a results file, read at every
  build, so a summary never goes stale against the files it summarises.  ``HEADING`` is part of
  the heading above the table (case ignored); ``ROW`` the text of a cell of the row (several
  cells joined by `` & `` when one does not single a row out); ``COLUMN`` the column's header.
  ``ROW`` and ``COLUMN`` may use ``*`` wildcards (run-dependent text: ``skae VAE*``).  A cell
  that cannot be found is a warning naming what is there (the page must be updated, and ``-W``
  says so); a file that does not exist yet reads "not run yet".
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.utils import new_document
from sphinx.util.docutils import SphinxDirective, SphinxRole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_gallery import commands_as_code, rst_problems, short_title  # noqa: E402

#: the results files in the order the page shows them (the applications first, then speed and
#: memory); files not listed follow by name.  A name whose file does not exist yet still gets
#: its section when its script exists (``gpu``: written only on a machine with CUDA).
ORDER = ["anomaly", "impute", "synthetic", "mixed", "generative", "pythae",
         "quality_reconstruction_likelihood", "quality_anomaly", "fit", "gpu", "memory", "scaling"]
#: section titles; a file not listed takes its script's docstring's first line
TITLES = {
    "anomaly": "Anomaly detection on real tables",
    "impute": "Imputation",
    "synthetic": "Synthetic tables",
    "mixed": "Mixed-type tables",
    "generative": "Generation: likelihood, reconstruction, conditional samples",
    "pythae": "VAE against pythae",
    "quality_reconstruction_likelihood": "Reconstruction and likelihood: dense and convolutional",
    "quality_anomaly": "Anomaly detection on constructed data",
    "fit": "Speed: training, inference, start-up",
    "gpu": "GPU speed",
    "memory": "Data larger than memory",
    "scaling": "Scaling: one scale or one per column",
}
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def benchmarks_dir(env) -> Path:
    return Path(env.srcdir).resolve().parent / "benchmarks"


def docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def script_of(name: str, folder: Path) -> Path | None:
    """The script that writes ``results_<name>.md``: ``bench_<name>.py``, else the longest prefix
    of ``name`` that names one (``quality_anomaly`` -> ``bench_quality.py``).
    """
    parts = name.split("_")
    for end in range(len(parts), 0, -1):
        path = folder / f"bench_{'_'.join(parts[:end])}.py"
        if path.is_file():
            return path
    return None


def result_names(folder: Path) -> list[str]:
    """Every results file's name (``results_<name>.md``), and those in ``ORDER`` that only have a script."""
    found = {p.stem.removeprefix("results_") for p in folder.glob("results_*.md")}
    scripts = {p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py")}
    # a script that has written no results file yet, by the name it will write
    found |= {s for s in scripts if not any(n == s or n.startswith(f"{s}_") for n in found)}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def _indent(lines: list[str], by: str = "   ") -> list[str]:
    return [by + line if line.strip() else "" for line in lines]


def result_section(name: str, folder: Path, underline: str) -> list[str]:
    """reStructuredText of one results file's section."""
    script = script_of(name, folder)
    text = docstring(script).strip() if script else ""
    summary, _, rest = text.partition("\n")
    title = TITLES.get(name) or short_title(summary.rstrip(".")) or f"results_{name}.md"
    lines = [f".. _bench-{name.replace('_', '-')}:", "", title, underline * len(title), ""]
    if summary:
        lead = summary if not rst_problems(summary) else re.sub(r"[`*|_]", "", summary)
        lines += [".. rst-class:: skae-bench-lead", "", lead, ""]
    if script:
        lines += [f"Written by ``benchmarks/{script.name}`` to ``benchmarks/results_{name}.md``.", ""]
    body = commands_as_code(rest.strip())
    if body and rst_problems(body):  # shown as written rather than failing the build
        body = "::\n\n" + "\n".join("   " + ln for ln in rest.strip().splitlines())
    if body:
        lines += [f".. dropdown:: How {script.name if script else 'it'} measures this, and how to run it",
                  "   :class-container: skae-bench-method", "", *_indent(body.splitlines()), ""]
    lines += [f".. skae-results:: results_{name}.md", ""]
    return lines


class BenchmarksDirective(SphinxDirective):
    """One section per results file (and per script that has written none yet).

    The sections' reStructuredText goes into the page's own input at the directive's place, as
    ``include`` does, so their titles take the page's levels: with ``:underline: -`` they are
    siblings of the section that holds the directive, not subsections of it (a nested parse
    would nest them all under it, and so would the page's table of contents).
    """

    option_spec = {"underline": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        folder = benchmarks_dir(self.env)
        underline = self.options.get("underline", "-")
        lines: list[str] = []
        for path in folder.glob("bench_*.py"):
            self.env.note_dependency(str(path))
        for name in result_names(folder):
            lines += result_section(name, folder, underline)
        self.state_machine.insert_input(lines, str(folder))
        return []


def markdown_without_headings(text: str) -> str:
    """Markdown headings as bold lines (a results file's heading levels need not fit the page's)."""
    out = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        out.append(f"**{match.group(2)}**" if match else line)
    return "\n".join(out)


class ResultsDirective(SphinxDirective):
    """The Markdown results files matching the arguments, rendered; a sentence when there is none yet."""

    required_arguments = 1
    optional_arguments = 20

    def run(self) -> list[nodes.Node]:
        from myst_parser.parsers.sphinx_ import MystParser

        folder = benchmarks_dir(self.env)
        files: list[Path] = []
        for pattern in self.arguments:
            files += [p for p in sorted(folder.glob(pattern)) if p not in files]
        if not files:
            para = nodes.paragraph()
            para += nodes.Text("No results file yet: run the script to write ")
            para += nodes.literal(text=f"benchmarks/{self.arguments[0]}")
            para += nodes.Text(".")
            return [para]
        out: list[nodes.Node] = []
        for path in files:
            self.env.note_dependency(str(path))
            caption = nodes.paragraph(classes=["skae-results-file"])
            caption += nodes.literal(text=f"benchmarks/{path.name}")
            document = new_document(str(path), self.state.document.settings)
            MystParser().parse(markdown_without_headings(path.read_text(encoding="utf-8")), document)
            box = nodes.container(classes=["skae-results"])
            box += caption
            box += document.children
            out.append(box)
        return out


@dataclass
class Table:
    """One Markdown table of a results file: the heading above it, its header and its rows (plain text)."""

    heading: str
    columns: list[str]
    rows: list[list[str]]


def plain(cell: str) -> str:
    """A Markdown cell as plain text: without bold marks and backticks."""
    return cell.replace("**", "").replace("`", "").strip()


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") else line
    return [plain(c) for c in line.split("|")]


def tables(text: str) -> list[Table]:
    """The tables of a Markdown results file, in order."""
    found: list[Table] = []
    heading, lines, i = "", text.splitlines(), 0
    while i < len(lines):
        match = _HEADING.match(lines[i])
        if match:
            heading = match.group(2)
        elif lines[i].lstrip().startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1].strip()):
            table = Table(heading, _cells(lines[i]), [])
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                table.rows.append(_cells(lines[i]))
                i += 1
            found.append(table)
            continue
        i += 1
    return found


def lookup(text: str, heading: str, row: str, column: str, name: str = "the results file") -> str:
    """The cell in ``column`` of the one row matching ``row`` in the first table under ``heading``.

    Raises ``LookupError`` naming what the file has instead, so a renamed heading, row or column
    fails the build with a message that says what to write.
    """
    under = [t for t in tables(text) if heading.lower() in t.heading.lower()]
    if not under:
        headings = "; ".join(dict.fromkeys(t.heading for t in tables(text))) or "none"
        raise LookupError(f"{name} has no table under a heading containing {heading!r}; its tables' headings: "
                          f"{headings}")
    wanted = [w.strip() for w in row.split(" & ")]
    for table in under:
        index = next((j for j, c in enumerate(table.columns) if fnmatchcase(c, column)), None)
        if index is None:
            continue
        rows = [r for r in table.rows if all(any(fnmatchcase(c, w) for c in r) for w in wanted)]
        if len(rows) > 1:
            raise LookupError(f"{len(rows)} rows of {name}'s table {table.heading!r} match {row!r}; "
                              "name another cell of the row after ' & '")
        if rows:
            return rows[0][index] if index < len(rows[0]) else ""
        firsts = ", ".join(r[0] for r in table.rows if r)
        raise LookupError(f"no row of {name}'s table {table.heading!r} matches {row!r}; its rows: {firsts}")
    columns = " / ".join(", ".join(t.columns) for t in under)
    raise LookupError(f"{name}'s tables under {heading!r} have no column {column!r}; their columns: {columns}")


class ResultRole(SphinxRole):
    """``:skae-result:`FILE | HEADING | ROW | COLUMN```: one cell of a results file."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        # the role may wrap over lines in a table cell: fields are split on a "|" between spaces
        parts = [" ".join(p.split()) for p in re.split(r"\s+\|\s+", self.text.strip())]
        if len(parts) != 4:
            return self.problem(f"skae-result takes 'FILE | HEADING | ROW | COLUMN', got {self.text!r}")
        name, heading, row, column = parts
        path = benchmarks_dir(self.env) / name
        self.env.note_dependency(str(path))
        if not path.is_file():
            return [nodes.emphasis(text="not run yet")], []
        try:
            value = lookup(path.read_text(encoding="utf-8"), heading, row, column, name=f"benchmarks/{name}")
        except LookupError as error:
            return self.problem(str(error))
        return [nodes.inline(text=value, classes=["skae-result"])], []

    def problem(self, message: str) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        msg = self.inliner.reporter.warning(message, line=self.lineno)
        return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]


def always_reread(app, env, added, changed, removed) -> list[str]:
    """Documents that show benchmarks/ are read again at every build (a new script or results file appears)."""
    return [doc for doc in env.found_docs if doc.endswith("benchmarks")]


def setup(app):
    app.add_directive("skae-benchmarks", BenchmarksDirective)
    app.add_directive("skae-results", ResultsDirective)
    app.add_role("skae-result", ResultRole())
    app.connect("env-get-outdated", always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
