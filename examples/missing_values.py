"""Missing values: ``AutoEncoderImputer`` fills a table's holes; every estimator takes rows with holes.

The wine data (scikit-learn ships it) with 20 % of its entries removed at
random: the imputer fills them from what the observed entries imply, beside
scikit-learn's imputers, and a classifier is trained after each.  The penguins
table with holes in its numeric, categorical and boolean columns is imputed as
a DataFrame (dtypes and categories kept).  Prints the error on the removed
entries; saves missing_values.png (true against imputed values).
Run: ``python examples/missing_values.py [--fast] [--out DIR]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from palmerpenguins import load_penguins
from sklearn.datasets import load_wine
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoder, AutoEncoderImputer

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # IterativeImputer's, at its default max_iter
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="a short training (a smoke test for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
if args.fast:
    print("--fast: smoke-test settings (a 20-epoch model); the numbers below are not the library's quality")


def skae_imputer():
    if args.fast:
        return AutoEncoderImputer(AutoEncoder(latent_dim=8, corruption="missing", max_epochs=20, random_state=0))
    return AutoEncoderImputer(random_state=0)


X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
rng = np.random.RandomState(0)
holes = rng.uniform(size=X.shape) < 0.2
X_holes = np.where(holes, np.nan, X)
imputers = {
    "skae AutoEncoderImputer()": skae_imputer(),
    "SimpleImputer (mean)": SimpleImputer(),
    "KNNImputer": KNNImputer(),
    "IterativeImputer": IterativeImputer(random_state=0),
    "IterativeImputer(ExtraTrees)": IterativeImputer(ExtraTreesRegressor(n_estimators=10, random_state=0),
                                                     random_state=0),
}
print(f"{'wine, 20 % missing':32s} {'RMSE (SDs)':>10s} {'classifier accuracy (5-fold)':>30s}")
filled = {}
for name, imputer in imputers.items():
    filled[name] = imputer.fit_transform(X_holes)
    rmse = np.sqrt(np.mean((filled[name][holes] - X[holes]) ** 2))
    accuracy = cross_val_score(make_pipeline(imputer, LogisticRegression(max_iter=2000)), X_holes, y, cv=5).mean()
    print(f"{name:32s} {rmse:10.3f} {accuracy:30.3f}")

penguins = load_penguins().dropna().reset_index(drop=True)
table = penguins.mask(rng.uniform(size=penguins.shape) < 0.15)
table.loc[table.isna().all(axis=1), "year"] = 2008
out = skae_imputer().fit(table).transform(table)
missing = table.isna()
print(f"penguins, 15 % missing: {int(missing.to_numpy().sum())} holes filled, none left: {not out.isna().any().any()}, "
      f"dtypes kept: {list(out.dtypes) == list(table.dtypes)}")
for column in ("species", "island", "sex"):
    rows = missing[column]
    print(f"  {column:8s} removed entries recovered: {np.mean(out[column][rows] == penguins[column][rows]):.2f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, name in zip(axes, ["skae AutoEncoderImputer()", "KNNImputer", "IterativeImputer(ExtraTrees)"]):
    ax.scatter(X[holes], filled[name][holes], s=4, alpha=0.5)
    ax.plot([-3, 3], [-3, 3], color="grey", lw=0.8)
    rmse = np.sqrt(np.mean((filled[name][holes] - X[holes]) ** 2))
    ax.set_title(f"{name}: RMSE {rmse:.2f}")
    ax.set_xlabel("removed value (standardised)")
    ax.set_ylabel("imputed value")
fig.tight_layout()
fig.savefig(os.path.join(args.out, "missing_values.png"), dpi=110)
print(f"figures saved to {args.out}/")
