"""Quickstart: a 16-d autoencoder against PCA on the digits dataset.

Fits ``AutoEncoder(latent_dim=16)`` with default settings on a train split,
prints test reconstruction MSE next to PCA(16)'s, and saves reconstructions and
a 2-d latent map.  Run: ``python examples/quickstart_digits.py [--fast] [--out DIR]``.
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoEncoder
from skae.plotting import image_grid, latent_scatter

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs (for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
epochs = {"max_epochs": 5} if args.fast else {}
if args.fast:
    print("--fast: smoke-test settings (a few epochs); the numbers below are not the library's quality "
          "(see the README for them)")

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

print(f"digits: {len(X_train)} training and {len(X_test)} test images of 8x8 pixels")
print("fitting AutoEncoder(latent_dim=16) (a few seconds on one thread) ...", flush=True)
start = time.perf_counter()
ae = AutoEncoder(latent_dim=16, random_state=0, **epochs).fit(X_train)
fit_seconds = time.perf_counter() - start
pca = PCA(n_components=16).fit(X_train)

mse_ae = np.mean((ae.reconstruct(X_test) - X_test) ** 2)
mse_pca = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
print("digits, latent size 16, test reconstruction MSE (pixel units 0-16)")
print(f"  AutoEncoder : {mse_ae:8.4f}   ({len(ae.history_)} epochs, {fit_seconds:.1f} s)")
print(f"  PCA         : {mse_pca:8.4f}")
print(f"  ratio AE/PCA: {mse_ae / mse_pca:8.3f}")

rows = np.stack([X_test[:10], ae.reconstruct(X_test[:10]), pca.inverse_transform(pca.transform(X_test[:10]))])
image_grid(rows, (8, 8), row_labels=["input", "AE", "PCA"], title="Test digits and reconstructions (16-d)").savefig(
    os.path.join(args.out, "quickstart_reconstructions.png"), dpi=120, bbox_inches="tight"
)
print("fitting AutoEncoder(latent_dim=2) for a 2-D map of the test digits ...", flush=True)
ae2 = AutoEncoder(latent_dim=2, random_state=0, **epochs).fit(X_train)
latent_scatter(ae2.transform(X_test), y_test, title="AutoEncoder(latent_dim=2), test digits").savefig(
    os.path.join(args.out, "quickstart_latent2d.png"), dpi=120, bbox_inches="tight"
)
print(f"figures saved to {args.out}/")
