"""Which ``scaling="auto"`` rule: one global scale or one per column, on arrays and tables.

For every data set (scikit-learn's tables and images, the anomaly sets of
../shared/data/anomaly; rows capped at 2,000, 70/30 split, seed 0):
``AutoEncoder(latent_dim=k, scaling=s)`` with k = min(8, d // 2), s global or
standard, and PCA(k) on the standardised columns.  Reported: the test error in
each column's standard deviations (mean over columns of MSE / variance; 1 =
predicting the mean; variances floored at 1 % of the median column's, so a
border pixel that is nearly always 0 does not dominate), which is what a
table's user judges, and the raw-unit
MSE ÷ PCA(k)'s raw-unit MSE (PCA on raw values), which is what an image's user
judges.  The rule under test: one global scale when the columns share a range
(median of the columns' ranges ≥ half the largest), a scale per column
otherwise.  One torch thread.

    python benchmarks/bench_scaling.py          # writes results_scaling.md
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
SHARED = HERE.parent.parent / "shared" / "data"


def sets() -> dict:
    out = {"digits (image)": datasets.load_digits().data}
    if (SHARED / "mnist_5000.npz").exists():
        out["MNIST-5000 (image)"] = np.load(SHARED / "mnist_5000.npz")["X"].astype(float)
    for name, loader in (("wine", datasets.load_wine), ("diabetes", datasets.load_diabetes),
                         ("breast_cancer", datasets.load_breast_cancer), ("iris", datasets.load_iris)):
        out[name] = loader().data.astype(float)
    for path in sorted((SHARED / "anomaly").glob("*.npz"), key=lambda p: int(p.stem.split("_")[0])):
        out[path.stem.split("_", 1)[1]] = np.load(path)["X"].astype(float)
    return out


def shares_a_range(X: np.ndarray) -> bool:
    r = X.max(0) - X.min(0)
    r = r[r > 0]
    return bool(np.median(r) >= 0.5 * r.max())


def main():
    from skae import AutoEncoder

    lines = [f"# bench_scaling: torch {torch.__version__}, {time.strftime('%Y-%m-%d')}", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             "| data | columns | shares a range | std. error, global | std. error, standard | PCA std. error | "
             "raw MSE ÷ PCA, global | raw MSE ÷ PCA, standard | rule picks |", "|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for name, X in sets().items():
        X = X[:, X.std(0) > 0]
        if len(X) > 2000:
            X = X[np.random.RandomState(0).choice(len(X), 2000, replace=False)]
        if X.shape[1] > 200 and "image" not in name:
            continue
        tr, te = train_test_split(X, test_size=0.3, random_state=0)
        k = max(1, min(8, X.shape[1] // 2))
        var = tr.var(0)
        # a border pixel that is almost always 0 would make its few errors count a thousandfold
        var = np.maximum(var, 0.01 * np.median(var[var > 0]))
        mu, sd = tr.mean(0), np.sqrt(var)
        pca_std = PCA(k).fit((tr - mu) / sd)
        rec = pca_std.inverse_transform(pca_std.transform((te - mu) / sd)) * sd + mu
        pca_std_err = float(np.mean((rec - te) ** 2 / var))
        pca_raw = PCA(k).fit(tr)
        pca_raw_mse = float(np.mean((pca_raw.inverse_transform(pca_raw.transform(te)) - te) ** 2))
        result = {}
        for scaling in ("global", "standard"):
            ae = AutoEncoder(latent_dim=k, scaling=scaling, random_state=0).fit(tr)
            out = ae.reconstruct(te)
            result[scaling] = (float(np.mean((out - te) ** 2 / var)), float(np.mean((out - te) ** 2)) / pca_raw_mse)
        pick = "global" if shares_a_range(tr) else "standard"
        rows.append((name, result, pick))
        line = (f"| {name} | {X.shape[1]} | {shares_a_range(tr)} | {result['global'][0]:.3f} | "
                f"{result['standard'][0]:.3f} | {pca_std_err:.3f} | {result['global'][1]:.2f} | "
                f"{result['standard'][1]:.2f} | {pick} |")
        print(line, flush=True)
        lines.append(line)
    std = {s: np.mean([r[1][s][0] for r in rows]) for s in ("global", "standard")}
    rule = np.mean([r[1][r[2]][0] for r in rows])
    worst = {s: max(r[1][s][0] for r in rows) for s in ("global", "standard")}
    lines += ["", f"Mean standardised error: global {std['global']:.3f}, standard {std['standard']:.3f}, the rule "
              f"{rule:.3f}; worst set: global {worst['global']:.3f}, standard {worst['standard']:.3f}, the rule "
              f"{max(r[1][r[2]][0] for r in rows):.3f}.", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if "--no-write" not in sys.argv:
        (HERE / "results_scaling.md").write_text(text)


if __name__ == "__main__":
    main()
