"""Follow X through ``fit``: which modules its rows pass through, how often, and whether a call climbs a layer.

Every call into skae is traced (``sys.setprofile``); a call *carries X* when one
of its arguments is the validated rows (:class:`skae.tables._input.Rows`) or an
array, DataFrame or tensor with X's row count.  Calls inside one module are
folded.  Reported per fit: the calls that carry X from one module into another,
the modules they enter, the modules entered more than twice, and the *climbs*:
calls from a lower layer into a higher one (a callback, or an object of a higher
layer handed down), with the layers of ``pyproject.toml``'s contract.  One
thread; small tables (wine, penguins), since the walk does not depend on size.

    OMP_NUM_THREADS=1 python benchmarks/bench_walk.py            # summary
    OMP_NUM_THREADS=1 python benchmarks/bench_walk.py --calls    # and every call
"""

from __future__ import annotations

import argparse
import collections
import sys

import numpy as np
import palmerpenguins
import pandas as pd
import torch
from sklearn.datasets import load_wine

import skae
from skae.tables._input import Rows

#: the layers contract's order (pyproject.toml), top first
LAYERS = ["tools", "detection", "impute", "estimators", "training", "model", "tables", "plugins"]
RANK = {name: len(LAYERS) - i for i, name in enumerate(LAYERS)}
RANK["impute"] = RANK["detection"]  # siblings


def layer(module: str) -> int:
    parts = module.split(".")
    return RANK.get(parts[1], 0) if len(parts) > 1 else len(LAYERS) + 1


def carries(value, n: int) -> bool:
    if isinstance(value, Rows):
        return True
    return isinstance(value, (np.ndarray, pd.DataFrame, torch.Tensor)) and value.ndim >= 1 and len(value) == n


def walk(fit, n: int) -> list[tuple[str, str, str]]:
    """(caller module, callee module, function) of every call that carries X from one module into another."""
    calls = []

    def profile(frame, event, arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("skae"):
            return
        back = frame.f_back
        while back is not None and not back.f_globals.get("__name__", "").startswith("skae"):
            back = back.f_back
        caller = back.f_globals.get("__name__", "") if back is not None else "user"
        if caller != module and any(carries(v, n) for v in frame.f_locals.values()):
            calls.append((caller, module, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        fit()
    finally:
        sys.setprofile(None)
    return calls


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", action="store_true", help="print every call that carries X")
    args = parser.parse_args()
    X = load_wine().data
    holes = X.copy()
    holes[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    penguins = palmerpenguins.load_penguins()
    cases = [
        ("AutoEncoderOutlierDetector().fit(array)", lambda: skae.AutoEncoderOutlierDetector(random_state=0).fit(X), X),
        ("AutoEncoderOutlierDetector().fit(DataFrame)",
         lambda: skae.AutoEncoderOutlierDetector(random_state=0).fit(penguins), penguins),
        ("AutoEncoderImputer().fit(array)", lambda: skae.AutoEncoderImputer(random_state=0).fit(holes), holes),
        ("AutoEncoderImputer().fit(DataFrame)", lambda: skae.AutoEncoderImputer(random_state=0).fit(penguins),
         penguins),
        ("AutoEncoder().fit(array)", lambda: skae.AutoEncoder(max_epochs=5, random_state=0).fit(X), X),
    ]
    print(f"# bench_walk: X through fit, skae {skae.__version__}, torch {torch.__version__}\n")
    print("| fit | calls carrying X between modules | modules | climbs | modules entered more than twice |")
    print("|---|---|---|---|---|")
    details = []
    for name, fit, data in cases:
        calls = walk(fit, len(data))
        entries = collections.Counter(callee for _, callee, _ in calls)
        climbs = [c for c in calls if c[0] != "user" and layer(c[1]) > layer(c[0])]
        often = ", ".join(f"`{m.removeprefix('skae.')}` {k}" for m, k in entries.most_common() if k > 2)
        print(f"| {name} | {len(calls)} | {len(entries)} | {len(climbs)} | {often} |")
        details.append((name, calls, climbs))
    for name, calls, climbs in details:
        for caller, callee, function in climbs:
            print(f"\nclimb in {name}: `{caller}` calls `{callee}.{function}`")
        if args.calls:
            print(f"\n## {name}\n")
            for caller, callee, function in calls:
                print(f"    {caller:34s} -> {callee:34s} {function}")


if __name__ == "__main__":
    main()
