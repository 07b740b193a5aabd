"""Regenerate every figure the README and the docs show: each example, full settings, into docs/images.

Writes docs/images/MANIFEST.json: each example's source digest and the figures it
drew, which ``tests/test_examples.py`` compares with the examples as they are, so a
committed figure cannot be older than the code that draws it.
Run: ``python examples/make_figures.py [--only NAME ...]`` (several minutes on one thread).
"""

import argparse
import hashlib
import json
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).parent
IMAGES = HERE.parent / "docs" / "images"
MANIFEST = IMAGES / "MANIFEST.json"


def digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="example names (default: all)")
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    for script in sorted(HERE.glob("*.py")):
        if script.name == pathlib.Path(__file__).name or args.only and script.stem not in args.only:
            continue
        before = {p.name: p.stat().st_mtime for p in IMAGES.glob("*.png")}
        start = time.perf_counter()
        print(f"{script.name} ...", flush=True)
        subprocess.run([sys.executable, str(script), "--out", str(IMAGES)], check=True)
        drawn = sorted(p.name for p in IMAGES.glob("*.png") if before.get(p.name) != p.stat().st_mtime)
        manifest[script.name] = {"sha256": digest(script), "figures": drawn}
        print(f"  {', '.join(drawn)} ({time.perf_counter() - start:.0f} s)", flush=True)
        MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
