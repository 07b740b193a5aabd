"""Sphinx directives for the benchmarks page, read from ``benchmarks/`` at every build.

``.. skae-benchmarks::`` writes one section per ``benchmarks/bench_*.py``: the
script's module docstring (what it measures and how to run it) and its results.
``.. skae-results:: PATTERN ...`` renders the Markdown results files matching the
patterns (``results_anomaly.md``) as tables, through myst-parser; a results file
that does not exist yet gives a sentence saying so, never a warning (the build
runs with ``-W``).  Headings inside a results file become bold lines, so a file's
heading levels cannot clash with the page's sections.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from docutils.utils import new_document
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_gallery import commands_as_code, rst_problems  # noqa: E402

#: the scripts in the order the page shows them; others follow by name
ORDER = ["bench_fit", "bench_anomaly", "bench_impute", "bench_synthetic", "bench_mixed", "bench_generative",
         "bench_pythae", "bench_gpu", "bench_quality", "bench_memory"]
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def benchmarks_dir(env) -> Path:
    return Path(env.srcdir).resolve().parent / "benchmarks"


def scripts(folder: Path) -> list[Path]:
    found = {p.stem: p for p in folder.glob("bench_*.py")}
    return [found[s] for s in ORDER if s in found] + sorted(p for s, p in found.items() if s not in ORDER)


def docstring(path: Path) -> str:
    import ast

    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def script_section(path: Path, underline: str) -> list[str]:
    """reStructuredText of one script's section."""
    text = docstring(path).strip()
    lines = [f"``{path.name}``", underline * (len(path.name) + 4), ""]
    if text:
        body = commands_as_code(text)
        if rst_problems(body):  # shown as written rather than failing the build
            body = "::\n\n" + "\n".join("   " + ln for ln in text.splitlines())
        lines += body.splitlines() + [""]
    stem = path.stem.removeprefix("bench_")
    lines += [".. rubric:: Results", "", f".. skae-results:: results_{stem}.md results_{stem}_*.md", ""]
    return lines


class BenchmarksDirective(SphinxDirective):
    """One section per benchmark script."""

    option_spec = {"underline": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        folder = benchmarks_dir(self.env)
        underline = self.options.get("underline", "-")
        lines: list[str] = []
        for path in scripts(folder):
            self.env.note_dependency(str(path))
            lines += script_section(path, underline)
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=str(folder)), container)
        return container.children


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


def always_reread(app, env, added, changed, removed) -> list[str]:
    """Documents that show benchmarks/ are read again at every build (a new script or results file appears)."""
    return [doc for doc in env.found_docs if doc.endswith("benchmarks")]


def setup(app):
    app.add_directive("skae-benchmarks", BenchmarksDirective)
    app.add_directive("skae-results", ResultsDirective)
    app.connect("env-get-outdated", always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
