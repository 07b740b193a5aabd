"""Anomaly detection by reconstruction error: scores, threshold, ROC curve, per-feature attribution.

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

from skae import AutoEncoder, AutoEncoderOutlierDetector

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs (for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
epochs = {"max_epochs": 10} if args.fast else {}

rng = np.random.RandomState(0)
t = rng.uniform(-1, 1, size=(1050, 2))
W1, W2 = rng.normal(size=(2, 16)) * 1.5, rng.normal(size=(16, 10)) / 4
S = np.tanh(t @ W1) @ W2
X = np.r_[S[:1000] + 0.01 * rng.normal(size=(1000, 10)), (S[1000:] + S[rng.permutation(1000)[:50]]) / 2]
is_anomaly = np.r_[np.zeros(1000), np.ones(50)]

detector = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=2, random_state=0, **epochs), contamination=0.05)
labels = detector.fit_predict(X)  # +1 inlier, -1 outlier
scores = {
    "skae AutoEncoder": -detector.score_samples(X),
    "IsolationForest": -IsolationForest(random_state=0).fit(X).score_samples(X),
    "PCA(2) recon. error": ((PCA(2).fit(X).inverse_transform(PCA(2).fit(X).transform(X)) - X) ** 2).mean(1),
}
print("curved 2-D sheet in 10-D + 5% chord midpoints: ROC-AUC")
for name, s in scores.items():
    print(f"  {name:22s} {roc_auc_score(is_anomaly, s):.3f}")
flagged = labels == -1
print(f"threshold_ {detector.threshold_:.4g}: {flagged.sum()} flagged, {int(is_anomaly[flagged].sum())} of them true anomalies")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
log_error = np.log10(-detector.score_samples(X))  # score = minus the mean squared reconstruction error
axes[0].hist([log_error[is_anomaly == 0], log_error[is_anomaly == 1]], bins=40, stacked=True,
             label=["normal", "anomaly"], color=["#4c72b0", "#dd8452"])
axes[0].axvline(np.log10(-detector.threshold_), color="k", ls="--", label="threshold_")
axes[0].set_xlabel("log10 reconstruction error (-score_samples)")
axes[0].legend()
for name, s in scores.items():
    fpr, tpr, _ = roc_curve(is_anomaly, s)
    axes[1].plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(is_anomaly, s):.2f})")
axes[1].plot([0, 1], [0, 1], color="grey", lw=0.5)
axes[1].set_xlabel("false positive rate")
axes[1].set_ylabel("true positive rate")
axes[1].legend(fontsize=8)
fig.savefig(os.path.join(args.out, "anomaly_scores.png"), dpi=120, bbox_inches="tight")

# which columns make a row anomalous: per-feature reconstruction errors keep the DataFrame's names
bc = load_breast_cancer(as_frame=True)
frame = (bc.data - bc.data.mean()) / bc.data.std()
normal, malignant = frame[bc.target == 1], frame[bc.target == 0]
data = pd.concat([normal, malignant.sample(18, random_state=0)])
det = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=4, random_state=0, **epochs)).fit(data)
worst = data.index[np.argmin(det.score_samples(data))]
errors = det.feature_errors(data.loc[[worst]]).iloc[0].sort_values(ascending=False)
print(f"breast cancer: most anomalous row {worst} ({'malignant' if bc.target[worst] == 0 else 'benign'}); "
      f"its largest feature errors: {', '.join(f'{k} {v:.2f}' for k, v in errors.head(3).items())}")
print(f"figures saved to {args.out}/")
