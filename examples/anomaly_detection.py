"""Anomaly detection with the default detector, compared fairly with IsolationForest, PCA and LOF.

Two real data sets that ship with scikit-learn, anomalies drawn three times:

* handwritten digits: every digit but 7, plus 3 % sevens;
* breast cancer: the benign rows plus 5 % malignant ones, as a DataFrame (which
  columns make a row anomalous).

Every detector is fitted on the rows without labels and scored on the same rows;
ROC-AUC and average precision, mean over three draws.  Also shown: the threshold
from ``contamination``, a conformal threshold at a chosen false-positive rate, and
PyOD's direction of the score.  Saves anomaly_scores.png (score histogram with
the threshold, ROC curves).
Run: ``python examples/anomaly_detection.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderOutlierDetector

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="3 members and one draw (a smoke test for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
members = {"n_estimators": 3} if args.fast else {}
draws = range(1) if args.fast else range(3)
if args.fast:
    print("--fast: smoke-test settings (3 members, one draw); the numbers below are not the library's quality")


def anomaly_scores(X, seed):
    """Each detector's anomaly score of every row (higher = more anomalous: PyOD's direction)."""
    Z = StandardScaler().fit_transform(X)
    pca = PCA(0.9).fit(Z)
    return {
        # scikit-learn's sign: score_samples is higher for normal rows; minus it is PyOD's decision_function
        "skae AutoEncoderOutlierDetector()": -AutoEncoderOutlierDetector(random_state=seed, **members).fit(Z)
        .score_samples(Z),
        "IsolationForest": -IsolationForest(random_state=seed).fit(Z).score_samples(Z),
        "PCA (90 % variance) error": ((pca.inverse_transform(pca.transform(Z)) - Z) ** 2).sum(1),
        "LocalOutlierFactor": -LocalOutlierFactor().fit(Z).negative_outlier_factor_,
    }


digits = load_digits()
bc = load_breast_cancer(as_frame=True)
benign, malignant = bc.data[bc.target == 1], bc.data[bc.target == 0]
cases = {}
for seed in draws:
    rng = np.random.RandomState(seed)
    others, sevens = digits.data[digits.target != 7], digits.data[digits.target == 7]
    X = np.r_[others, sevens[rng.choice(len(sevens), 50, replace=False)]]
    cases.setdefault("digits + 3 % sevens", []).append((X, np.r_[np.zeros(len(others)), np.ones(50)], seed))
    picked = malignant.sample(18, random_state=seed)
    cases.setdefault("breast cancer + 5 % malignant", []).append(
        (pd.concat([benign, picked]), np.r_[np.zeros(len(benign)), np.ones(18)], seed))

results, curves = {}, {}
for case, runs in cases.items():
    for X, y, seed in runs:
        for name, s in anomaly_scores(np.asarray(X), seed).items():
            results.setdefault((case, name), []).append((roc_auc_score(y, s), average_precision_score(y, s)))
            curves.setdefault(case, {})[name] = (y, s)
for case in cases:
    print(f"{case}: ROC-AUC / average precision, mean over {len(draws)} draw(s)")
    for name in curves[case]:
        roc, ap = np.mean(results[case, name], axis=0)
        print(f"  {name:36s} {roc:.3f} / {ap:.3f}")

# thresholds and PyOD's outputs, on the digits
X, y, _ = cases["digits + 3 % sevens"][0]
detector = AutoEncoderOutlierDetector(contamination=0.03, random_state=0, **members).fit(X)
flagged = detector.predict(X) == -1  # scikit-learn: +1 inlier, -1 outlier
print(f"contamination=0.03: threshold_ {detector.threshold_:.3g}, {flagged.sum()} flagged, "
      f"{int(y[flagged].sum())} of them sevens")
conformal = AutoEncoderOutlierDetector(false_positive_rate=0.01, random_state=0, **members).fit(X)
flagged = conformal.predict(X) == -1
print(f"false_positive_rate=0.01 (conformal, rows held out to calibrate): {flagged.sum()} flagged, "
      f"{int(y[flagged].sum())} sevens; {flagged[y == 0].mean():.3f} of the other digits flagged")
print("PyOD's direction (higher = more anomalous): detector.anomaly_score(X) == -detector.score_samples(X); "
      f"ROC-AUC {roc_auc_score(y, detector.anomaly_score(X)):.3f}")

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
s = detector.decision_scores_
bins = np.linspace(s.min(), np.percentile(s, 98), 40)
clipped = np.minimum(s, bins[-1])  # the last bin holds the far tail
axes[0].hist([clipped[y == 0], clipped[y == 1]], bins=bins, stacked=True, label=["other digits", "sevens"],
             color=["#4c72b0", "#dd8452"])
axes[0].set_yscale("log")
axes[0].axvline(detector.threshold_, color="k", ls="--", label="threshold_ (contamination=0.03)")
axes[0].set_xlabel("anomaly score (decision_scores_, higher = more anomalous; tail in the last bin)")
axes[0].set_ylabel("rows")
axes[0].set_title("digits + 3 % sevens")
axes[0].legend(fontsize=8)
for ax, case in zip(axes[1:], cases):
    for name, (yy, sc) in curves[case].items():
        fpr, tpr, _ = roc_curve(yy, sc)
        ax.plot(fpr, tpr, label=f"{name} (AUC {np.mean([r[0] for r in results[case, name]]):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(case)
    ax.legend(fontsize=7)
fig.savefig(os.path.join(args.out, "anomaly_scores.png"), dpi=120, bbox_inches="tight")

# which columns make a row anomalous: per-column contributions keep the DataFrame's names
data, yb, _ = cases["breast cancer + 5 % malignant"][0]
det = AutoEncoderOutlierDetector(random_state=0, **members).fit(data)  # the members standardise each column
worst = data.index[np.argmax(det.decision_scores_)]
errors = det.feature_errors(data.loc[[worst]]).iloc[0].sort_values(ascending=False)
truth = "malignant" if bc.target[worst] == 0 else "benign"
print(f"breast cancer: the most anomalous row, {worst}, is {truth}; its largest contributions: "
      f"{', '.join(f'{k} {v:.1f}' for k, v in errors.head(3).items())}")
print(f"figures saved to {args.out}/")
