"""AE vs VAE on the swiss roll: what each learns with a 2-D latent space, and how it samples.

Both models see 3-D points on a rolled-up sheet.  The plain AE's codes are
wherever the encoder put them (no density), so sampling needs a density fitted
to the codes (skae fits a Gaussian mixture); the VAE's codes are pushed towards
N(0, I), so decoding prior draws gives points on the roll.  Prints how far
samples land from the roll; saves swiss_roll_ae_vs_vae.png (the data, each model's
latent map coloured by the roll coordinate, and its samples coloured by their
distance to the roll).
Run: ``python examples/swiss_roll_ae_vs_vae.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_swiss_roll
from sklearn.neighbors import NearestNeighbors

from skae import VAE, AutoEncoder

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs (for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
epochs = {"max_epochs": 10} if args.fast else {"max_epochs": 400, "patience": 40}
if args.fast:
    print("--fast: smoke-test settings (a few epochs); the numbers below are not the library's quality "
          "(see the README for them)")

X, t = make_swiss_roll(3000, noise=0.2, random_state=0)
dense_roll, _ = make_swiss_roll(50_000, noise=0.0, random_state=1)
nearest = NearestNeighbors(n_neighbors=1).fit(dense_roll)

models = {
    "AutoEncoder": AutoEncoder(latent_dim=2, hidden_dims=(128, 64), random_state=0, **epochs),
    "VAE": VAE(latent_dim=2, hidden_dims=(128, 64), sigma0=0.05, random_state=0, **epochs),
}
fig, axes = plt.subplot_mosaic(
    [["data", "AutoEncoder codes", "VAE codes"], ["data x-z", "AutoEncoder samples", "VAE samples"]],
    figsize=(14, 8), layout="constrained", per_subplot_kw={"data": {"projection": "3d"}})
roll = axes["data"].scatter(X[:, 0], X[:, 1], X[:, 2], c=t, s=2, cmap="viridis")
axes["data"].set_title("data")
# the samples are drawn in the same x-z view, so this panel is where they should land
axes["data x-z"].scatter(X[:, 0], X[:, 2], s=2, color="0.6")
axes["data x-z"].set_title("data (x-z): where samples should land")
axes["data x-z"].set(xlabel="x", ylabel="z")
for name, model in models.items():
    model.fit(X)
    Z = model.transform(X)
    samples = model.sample(2000, random_state=0)
    dist = nearest.kneighbors(samples)[0].ravel()
    rec = np.mean(np.linalg.norm(model.reconstruct(X) - X, axis=1))
    print(f"{name:12s} mean reconstruction distance {rec:.3f}; samples: median distance to the roll "
          f"{np.median(dist):.3f}, share within 1.0 of it {np.mean(dist < 1.0):.2f}")
    axes[f"{name} codes"].scatter(Z[:, 0], Z[:, 1], c=t, s=2, cmap="viridis")
    axes[f"{name} codes"].set_title(f"{name}: 2-D codes")
    ax = axes[f"{name} samples"]
    ax.sharex(axes["data x-z"]), ax.sharey(axes["data x-z"])
    far = ax.scatter(samples[:, 0], samples[:, 2], c=dist, s=2, cmap="magma_r", vmin=0, vmax=3)
    ax.set_title(f"{name}: 2000 samples (x-z)")
    ax.set_xlabel("x")
# one bar per row: the top row is coloured by where a point lies along the roll, the samples by how far off it they are
fig.colorbar(roll, ax=[axes["data"], axes["AutoEncoder codes"], axes["VAE codes"]], shrink=0.9,
             label="roll coordinate t")
fig.colorbar(far, ax=[axes["data x-z"], axes["AutoEncoder samples"], axes["VAE samples"]], shrink=0.9,
             extend="max", label="distance to the roll")
fig.savefig(os.path.join(args.out, "swiss_roll_ae_vs_vae.png"), dpi=110, bbox_inches="tight")
print(f"figures saved to {args.out}/")
