"""Dimensionality reduction as a Pipeline step, tuned by GridSearchCV, beside PCA.

``MinMaxScaler -> AutoEncoder -> LogisticRegression``: the grid searches the
autoencoder's latent size and regularizer by the classifier's cross-validated
accuracy; then a 2-D autoencoder map of the test digits is drawn next to PCA's.
Saves pipeline_latent_vs_pca.png.  Run: ``python examples/pipeline_gridsearch_digits.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoEncoder
from skae.plotting import latent_scatter

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs, small grid (for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
epochs = 5 if args.fast else 100
if args.fast:
    print("--fast: smoke-test settings (a few epochs); the numbers below are not the library's quality "
          "(see the README for them)")

X, y = load_digits(return_X_y=True, as_frame=True)  # pandas in ...
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

pipe = Pipeline([
    ("scale", MinMaxScaler()),
    ("ae", AutoEncoder(max_epochs=epochs, random_state=0)),
    ("clf", LogisticRegression(max_iter=2000)),
]).set_output(transform="pandas")  # ... pandas between steps: columns latent0, latent1, ...
grid = {"ae__latent_dim": [2, 8] if args.fast else [2, 4, 8, 16],
        "ae__regularizers": [None, "l1_activity"]}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)
print("GridSearchCV over the autoencoder inside a Pipeline (3-fold accuracy of the classifier on the codes)")
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"  {params}  {score:.3f}")
print(f"best {search.best_params_}: test accuracy {search.score(X_test, y_test):.3f}")
codes = search.best_estimator_[:-1].transform(X_test.iloc[:3])
print(f"codes are a DataFrame with columns {list(codes.columns)[:4]}...")

k = search.best_params_["ae__latent_dim"]
pca_pipe = Pipeline([("scale", MinMaxScaler()), ("pca", PCA(k)), ("clf", LogisticRegression(max_iter=2000))])
print(f"PCA({k}) in the same pipeline: test accuracy {pca_pipe.fit(X_train, y_train).score(X_test, y_test):.3f}")

scaler = MinMaxScaler().fit(X_train)
ae2 = AutoEncoder(latent_dim=2, max_epochs=epochs * 2, random_state=0).fit(scaler.transform(X_train))
pca2 = PCA(2).fit(scaler.transform(X_train))
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
latent_scatter(pca2.transform(scaler.transform(X_test)), y_test, title="PCA, 2 components", ax=axes[0])
latent_scatter(ae2.transform(scaler.transform(X_test)), y_test, title="AutoEncoder(latent_dim=2)", ax=axes[1])
fig.savefig(os.path.join(args.out, "pipeline_latent_vs_pca.png"), dpi=120, bbox_inches="tight")
print(f"figures saved to {args.out}/")
