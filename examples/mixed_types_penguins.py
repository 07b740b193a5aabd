"""A table with categorical, boolean and numeric columns, straight from pandas.

Palmer penguins (palmerpenguins ships the data): species, island and sex are
strings, the measurements numbers.  An ``AutoEncoder`` takes the DataFrame as
it is; ``reconstruct`` gives a DataFrame back with categories, and the
detector's ``feature_errors`` names the column that makes a row odd.  Three
rows get a swapped species, and the detector finds them.

Prints category accuracy against a one-hot + PCA reconstruction; saves
mixed_types_penguins.png (the 2-D codes by species; per-column errors of the
swapped rows).  Run: ``python examples/mixed_types_penguins.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from palmerpenguins import load_penguins
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoEncoder, AutoEncoderOutlierDetector

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs and 2 detector members (a smoke test for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
if args.fast:
    print("--fast: smoke-test settings (30 epochs, 2 detector members); the numbers below are not the library's quality")

penguins = load_penguins().dropna().reset_index(drop=True)
categorical = ["species", "island", "sex"]
ae = AutoEncoder(latent_dim=2, random_state=0, **({"max_epochs": 30} if args.fast else {})).fit(penguins)
rec = ae.reconstruct(penguins)  # a DataFrame: the same columns, dtypes and categories

onehot = make_column_transformer((OneHotEncoder(sparse_output=False), categorical),
                                 (StandardScaler(), [c for c in penguins.columns if c not in categorical]))
E = onehot.fit_transform(penguins)
pca = PCA(2).fit(E)
E_rec = pca.inverse_transform(pca.transform(E))
cats = onehot.named_transformers_["onehotencoder"].categories_
start = 0
print(f"{'column':10s} {'skae AE':>8s} {'one-hot+PCA':>12s}   (share of categories reconstructed, 2-D code)")
for name, values in zip(categorical, cats):
    pca_pick = np.asarray(values)[E_rec[:, start:start + len(values)].argmax(1)]
    start += len(values)
    print(f"{name:10s} {np.mean(rec[name] == penguins[name]):8.3f} {np.mean(pca_pick == penguins[name]):12.3f}")

# three Adelie penguins relabelled as Gentoo: plausible values, an implausible combination
odd = penguins.copy()
swapped = odd.index[odd["species"] == "Adelie"][:3]
odd.loc[swapped, "species"] = "Gentoo"
detector = AutoEncoderOutlierDetector(random_state=0, **({"n_estimators": 2} if args.fast else {})).fit(penguins)
scores = -detector.score_samples(odd)
rank = scores.argsort().argsort()[swapped]
print(f"the swapped rows rank {sorted(int(r) for r in len(odd) - rank)} of {len(odd)} by anomaly score (1 = most anomalous)")
errors = detector.feature_errors(odd.loc[swapped])
print("per-column errors of the swapped rows (relative to a typical row):")
print(errors.round(2).to_string())

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
codes = ae.transform(penguins)
for species, colour in zip(["Adelie", "Chinstrap", "Gentoo"], ["tab:orange", "tab:purple", "tab:green"]):
    mask = penguins["species"] == species
    left.scatter(codes[mask, 0], codes[mask, 1], s=10, c=colour, label=species)
left.set(title="2-D codes of the whole table (species, island, sex, measurements)", xlabel="latent0",
         ylabel="latent1")
left.legend(frameon=False)
x = np.arange(len(errors.columns))
for i, (row, values) in enumerate(errors.iterrows()):
    right.bar(x + (i - 1) * 0.27, values.to_numpy(), width=0.27, label=f"row {row}")
right.set_xticks(x, errors.columns, rotation=30, ha="right")
right.set(title="Where the relabelled rows are odd: per-column error", ylabel="error / typical error")
right.legend(frameon=False)
fig.tight_layout()
path = os.path.join(args.out, "mixed_types_penguins.png")
fig.savefig(path, dpi=110)
print(f"saved {path}")
