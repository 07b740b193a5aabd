"""Anomaly detection on the 20 real tabular sets of ../shared/data/anomaly, one protocol for every contestant.

Protocol (../shared/data/anomaly/README.md): for each set, one stratified 70/30 split
(``random_state=42``); columns constant on the train part dropped; ``StandardScaler``
fitted on the train part; each detector fitted on the train part *without labels*
(it contains its anomalies) with ``random_state`` = seed for seeds 0, 1, 2; test
ROC-AUC and average precision; mean over seeds, then over sets.  One torch thread.

Contestants: skae's ``AutoEncoderOutlierDetector()`` with no arguments (the default
this benchmark chooses), its variants (on CUDA too when a GPU is present; with 20 %
of the entries missing), ``-score_samples`` of ``AutoEncoder()`` and ``VAE()`` with
defaults, PyOD (AutoEncoder, VAE, ECOD, PCA; optional: ``pip install pyod``; PyOD's
IForest is scikit-learn's) and scikit-learn's IsolationForest and
LocalOutlierFactor(novelty=True).

    python benchmarks/bench_anomaly.py                      # everything, writes results_anomaly.md
    python benchmarks/bench_anomaly.py --only skae pyod_ae  # some contestants
    python benchmarks/bench_anomaly.py --sets glass WDBC    # some sets

Per-run results are cached in benchmarks/.cache/anomaly.json (keyed by contestant,
set and seed; ``--fresh`` ignores the cache), so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
DATA = HERE.parent.parent / "shared" / "data" / "anomaly"
CACHE = HERE / ".cache" / "anomaly.json"
SEEDS = (0, 1, 2)
#: sets with more rows are subsampled to this many before the split
MAX_ROWS = 20_000


def load_set(path: pathlib.Path):
    """The protocol's train/test arrays for one set (the split does not depend on the seed)."""
    d = np.load(path)
    X, y = d["X"].astype(np.float64), d["y"].astype(int)
    if len(X) > MAX_ROWS:  # the protocol: larger sets are subsampled, stratified, with seed 0, before the split
        X, _, y, _ = train_test_split(X, y, train_size=MAX_ROWS, stratify=y, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=42)
    keep = Xtr.std(axis=0) > 0
    scaler = StandardScaler().fit(Xtr[:, keep])
    return scaler.transform(Xtr[:, keep]), scaler.transform(Xte[:, keep]), yte


# ---------------------------------------------------------------- contestants
# each returns a function (X_train, X_test, seed) -> anomaly scores of X_test (higher = more anomalous)


def _skae(make):
    def run(Xtr, Xte, seed):
        return -make(seed).fit(Xtr).score_samples(Xte)
    return run


def _pyod(name, **kw):
    def run(Xtr, Xte, seed):
        from importlib import import_module

        module, cls = {"ae": ("auto_encoder", "AutoEncoder"), "vae": ("vae", "VAE"), "iforest": ("iforest", "IForest"),
                       "ecod": ("ecod", "ECOD"), "pca": ("pca", "PCA")}[name]
        klass = getattr(import_module(f"pyod.models.{module}"), cls)
        extra = {"random_state": seed} if "random_state" in klass.__init__.__code__.co_varnames else {}
        if name in ("ae", "vae"):
            extra["verbose"] = 0
        return klass(**extra, **kw).fit(Xtr).decision_function(Xte)
    return run


def _missing(share):
    """The default detector on X with ``share`` of its entries removed at random (train and test)."""
    def run(Xtr, Xte, seed):
        from skae import AutoEncoderOutlierDetector

        rng = np.random.RandomState(1000 + seed)
        holes = [np.where(rng.uniform(size=X.shape) < share, np.nan, X) for X in (Xtr, Xte)]
        for X in holes:  # a row needs one observed entry
            empty = np.isnan(X).all(axis=1)
            X[empty, 0] = 0.0
        return -AutoEncoderOutlierDetector(random_state=seed).fit(holes[0]).score_samples(holes[1])
    return run


def contestants():
    from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector

    table = {
        "skae": ("skae AutoEncoderOutlierDetector() (default)", _skae(lambda s: AutoEncoderOutlierDetector(random_state=s))),
        "skae_missing20": ("skae default with 20 % of the entries missing (MCAR, train and test)", _missing(0.2)),
        "skae_no_tails": ("skae default without the column-tails term (tail_weight=0)",
                          _skae(lambda s: AutoEncoderOutlierDetector(tail_weight=0, random_state=s))),
        "skae_tails1": ("skae default with tail_weight=1", _skae(lambda s: AutoEncoderOutlierDetector(tail_weight=1, random_state=s))),
        "skae_tails3": ("skae default with tail_weight=3", _skae(lambda s: AutoEncoderOutlierDetector(tail_weight=3, random_state=s))),
        "skae_single": ("skae detector, one network on all columns (n_estimators=1, max_features=1.0)",
                        _skae(lambda s: AutoEncoderOutlierDetector(n_estimators=1, max_features=1.0, random_state=s))),
        "skae_vae_det": ("skae detector around VAE()", _skae(lambda s: AutoEncoderOutlierDetector(VAE(random_state=s)))),
        "skae_ae": ("skae AutoEncoder() defaults, -score_samples", _skae(lambda s: AutoEncoder(random_state=s))),
        "skae_vae": ("skae VAE() defaults, -score_samples", _skae(lambda s: VAE(random_state=s))),
        "pyod_ae": ("PyOD AutoEncoder", _pyod("ae")),
        "pyod_vae": ("PyOD VAE", _pyod("vae")),
        "pyod_ecod": ("PyOD ECOD", _pyod("ecod")),
        "pyod_pca": ("PyOD PCA", _pyod("pca")),
        "iforest": ("scikit-learn IsolationForest", lambda a, b, s: -IsolationForest(random_state=s).fit(a).score_samples(b)),
        "lof": ("scikit-learn LocalOutlierFactor(novelty=True)",
                lambda a, b, s: -LocalOutlierFactor(novelty=True).fit(a).score_samples(b)),
    }
    if torch.cuda.is_available():
        table["skae_cuda"] = ("skae AutoEncoderOutlierDetector(device='cuda')",
                              _skae(lambda s: AutoEncoderOutlierDetector(device="cuda", random_state=s)))
    return table


# ---------------------------------------------------------------- running


def run(names, sets, fresh: bool):
    cache = {} if fresh or not CACHE.exists() else json.loads(CACHE.read_text())
    table = contestants()
    for path in sets:
        Xtr, Xte, yte = load_set(path)
        for name in names:
            for seed in SEEDS:
                key = f"{name}|{path.stem}|{seed}"
                if key in cache:
                    continue
                start = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        scores = np.asarray(table[name][1](Xtr, Xte, seed), dtype=np.float64)
                except ImportError as exc:
                    print(f"skip {name}: {exc}", file=sys.stderr)
                    break
                seconds = time.perf_counter() - start
                finite = np.isfinite(scores)
                # a detector that returns NaN/inf (PyOD's PCA on collinear columns) ranks those rows most anomalous
                top = scores[finite].max() + 1 if finite.any() else 0.0
                scores = np.where(finite, scores, top)
                cache[key] = {"auc": roc_auc_score(yte, scores), "ap": average_precision_score(yte, scores),
                              "seconds": seconds, "n_train": len(Xtr), "d": Xtr.shape[1],
                              "nonfinite": int((~finite).sum())}
                print(f"{name:14s} {path.stem:20s} seed {seed}: AUC {cache[key]['auc']:.3f} "
                      f"AP {cache[key]['ap']:.3f} ({seconds:.1f} s)", flush=True)
                CACHE.parent.mkdir(exist_ok=True)
                CACHE.write_text(json.dumps(cache, indent=0))
    return cache


def report(cache, names, sets) -> list[str]:
    table = contestants()
    names = [n for n in names if all(f"{n}|{p.stem}|{s}" in cache for p in sets for s in SEEDS)]

    def cell(name, stem, metric):
        return float(np.mean([cache[f"{name}|{stem}|{s}"][metric] for s in SEEDS]))

    lines = [f"# bench_anomaly: {len(sets)} real sets, seeds {list(SEEDS)}, torch {torch.__version__}, "
             f"{time.strftime('%Y-%m-%d')}", "",
             "Protocol of ../shared/data/anomaly/README.md (70/30 stratified split, StandardScaler on the train part, "
             "fit without labels, test scores; mean over seeds, then over sets). One thread.", "",
             ]
    for metric, title, fmt in (("auc", "Test ROC-AUC per set", ".3f"), ("ap", "Test average precision per set", ".3f"),
                               ("seconds", "Fit + score seconds per set (one thread)", ".2f")):
        lines += [f"## {title}", "", "| set | n train | d | " + " | ".join(names) + " |",
                  "|---|---|---|" + "---|" * len(names)]
        for path in sets:
            first = cache[f"{names[0]}|{path.stem}|0"]
            lines.append(f"| {path.stem} | {first['n_train']} | {first['d']} | "
                         + " | ".join(f"{cell(n, path.stem, metric):{fmt}}" for n in names) + " |")
        lines.append("| **mean** | | | " + " | ".join(
            f"**{np.mean([cell(n, p.stem, metric) for p in sets]):{fmt}}**" for n in names) + " |")
        lines.append("")
    if "skae" in names:
        seconds = [cell("skae", p.stem, "seconds") for p in sets]
        lines += [f"Default detector: median fit + score {np.median(seconds):.2f} s per set, slowest "
                  f"{max(seconds):.2f} s ({sets[int(np.argmax(seconds))].stem}).", ""]
    lines += ["Columns: " + "; ".join(f"`{n}` = {table[n][0]}" for n in names), ""]
    for refs, title in ((("iforest", "pyod_pca", "pyod_ecod"), "the best of IsolationForest, PCA and ECOD"),
                        (("pyod_ae", "iforest"), "the better of PyOD AutoEncoder / IsolationForest")):
        ref = [n for n in refs if n in names]
        if "skae" not in names or not ref:
            continue
        lines += [f"## The default detector against {title} (ROC-AUC)", "",
                  "| set | skae default | best reference | which | gap |", "|---|---|---|---|---|"]
        gaps: list[tuple[float, str]] = []
        for path in sets:
            best = max(ref, key=lambda n: cell(n, path.stem, "auc"))
            gap = cell("skae", path.stem, "auc") - cell(best, path.stem, "auc")
            lines.append(f"| {path.stem} | {cell('skae', path.stem, 'auc'):.3f} | "
                         f"{cell(best, path.stem, 'auc'):.3f} | {best} | {gap:+.3f} |")
            gaps.append((gap, path.stem))
        worst = min(gaps)
        lines += ["", f"Worst set: {worst[1]} ({worst[0]:+.3f}); sets more than 0.05 behind: "
                  f"{sum(g < -0.05 for g, _ in gaps)} of {len(gaps)}.", ""]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="contestants (default: all)")
    parser.add_argument("--sets", nargs="*", help="substrings of set names (default: all 20)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--out", default=str(HERE / "results_anomaly.md"))
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found: the development suite is not on this machine.")
    sets = sorted(DATA.glob("*.npz"), key=lambda p: int(p.stem.split("_")[0]))
    if args.sets:
        sets = [p for p in sets if any(s.lower() in p.stem.lower() for s in args.sets)]
    names = args.only or list(contestants())
    cache = run(names, sets, args.fresh)
    lines = report(cache, names, sets)
    print("\n".join(lines))
    if not args.sets:  # every set: the results file (with the contestants run)
        pathlib.Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
