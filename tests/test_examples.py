"""Every example runs in fast mode and writes its figures; the committed figures come from the examples as they are."""

import hashlib
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted(p for p in ROOT.joinpath("examples").glob("*.py") if p.name != "make_figures.py")
MANIFEST = ROOT / "docs" / "images" / "MANIFEST.json"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_fast(script, tmp_path):
    out = subprocess.run([sys.executable, str(script), "--fast", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert list(tmp_path.glob("*.png")), "no figure written"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_committed_figures_were_drawn_by_the_example_as_it_is(script):
    entry = json.loads(MANIFEST.read_text()).get(script.name)
    assert entry is not None, f"{script.name}'s figures were never drawn: python examples/make_figures.py --only {script.stem}"
    assert entry["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest(), (
        f"{script.name} changed since its figures were drawn: python examples/make_figures.py --only {script.stem}")
    assert entry["figures"] and all((MANIFEST.parent / f).exists() for f in entry["figures"])
