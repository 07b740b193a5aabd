"""Anomaly detection with the default detector: scores, threshold, PyOD-style outputs, attribution.

Two data sets: a curved 2-D sheet in 10-D with 5% off-sheet points (midpoints of
chords, which a linear model cannot tell from the sheet), and the breast-cancer
table (benign rows + 5% malignant) as a DataFrame, to show which columns make a
row anomalous.  Prints ROC-AUC against IsolationForest and PCA; saves
anomaly_scores.png (score histogram with the threshold, ROC curves).
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
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve

from skae import AutoEncoderOutlierDetector

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="3 members instead of 10 (a smoke test for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
members = {"n_estimators": 3} if args.fast else {}
if args.fast:
    print("--fast: smoke-test settings (3 members); the numbers below are not the library's quality")

rng = np.random.RandomState(0)
t = rng.uniform(-1, 1, size=(1050, 2))
W1, W2 = rng.normal(size=(2, 16)) * 1.5, rng.normal(size=(16, 10)) / 4
S = np.tanh(t @ W1) @ W2
X = np.r_[S[:1000] + 0.01 * rng.normal(size=(1000, 10)), (S[1000:] + S[rng.permutation(1000)[:50]]) / 2]
is_anomaly = np.r_[np.zeros(1000), np.ones(50)]

detector = AutoEncoderOutlierDetector(contamination=0.05, random_state=0, **members)
labels = detector.fit_predict(X)  # scikit-learn: +1 inlier, -1 outlier
pca = PCA(2).fit(X)
scores = {
    "skae AutoEncoderOutlierDetector()": detector.decision_scores_,  # PyOD convention: higher = more anomalous
    "IsolationForest": -IsolationForest(random_state=0).fit(X).score_samples(X),
    "PCA(2) recon. error": ((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean(1),
}
print("curved 2-D sheet in 10-D + 5% chord midpoints: ROC-AUC")
for name, s in scores.items():
    print(f"  {name:36s} {roc_auc_score(is_anomaly, s):.3f}")
flagged = labels == -1
print(f"threshold_ {detector.threshold_:.3g}: {flagged.sum()} flagged (labels_.sum() = {detector.labels_.sum()}), "
      f"{int(is_anomaly[flagged].sum())} of them true anomalies")
print(f"predict_proba of the first anomaly: {detector.predict_proba(X[1000:1001])[0, 1]:.2f} (linear), "
      f"{detector.predict_proba(X[1000:1001], method='unify')[0, 1]:.2f} (unify)")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
s = detector.decision_scores_
bins = np.linspace(s.min(), np.percentile(s, 99.5), 50)
axes[0].hist([s[is_anomaly == 0], s[is_anomaly == 1]], bins=bins, stacked=True, label=["normal", "anomaly"],
             color=["#4c72b0", "#dd8452"])
axes[0].axvline(detector.threshold_, color="k", ls="--", label="threshold_ (contamination=0.05)")
axes[0].set_xlabel("anomaly score (decision_scores_, higher = more anomalous)")
axes[0].set_ylabel("training rows")
axes[0].legend()
for name, sc in scores.items():
    fpr, tpr, _ = roc_curve(is_anomaly, sc)
    axes[1].plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(is_anomaly, sc):.2f})")
axes[1].plot([0, 1], [0, 1], color="grey", lw=0.5)
axes[1].set_xlabel("false positive rate")
axes[1].set_ylabel("true positive rate")
axes[1].legend(fontsize=8)
fig.savefig(os.path.join(args.out, "anomaly_scores.png"), dpi=120, bbox_inches="tight")

# which columns make a row anomalous: per-column contributions keep the DataFrame's names
bc = load_breast_cancer(as_frame=True)
normal, malignant = bc.data[bc.target == 1], bc.data[bc.target == 0]
data = pd.concat([normal, malignant.sample(18, random_state=0)])
det = AutoEncoderOutlierDetector(random_state=0, **members).fit(data)  # members standardise each column
worst = data.index[np.argmax(det.decision_scores_)]
errors = det.feature_errors(data.loc[[worst]]).iloc[0].sort_values(ascending=False)
truth = "malignant" if bc.target[worst] == 0 else "benign"
print(f"breast cancer: ROC-AUC {roc_auc_score(bc.target[data.index] == 0, det.decision_scores_):.3f}; most anomalous "
      f"row {worst} ({truth}); its largest contributions: {', '.join(f'{k} {v:.1f}' for k, v in errors.head(3).items())}")
print(f"figures saved to {args.out}/")
