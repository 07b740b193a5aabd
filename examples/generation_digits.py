"""Denoising, generation, interpolation and conditional generation on digits.

Saves: denoising.png (clean / masked / plain AE / denoising AE), vae_samples.png,
vae_interpolation.png, cvae_rows_per_class.png, and prints the key numbers.
Run: ``python examples/generation_digits.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skae import VAE, AutoEncoder, ConditionalVAE
from skae.plotting import image_grid

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


def save(fig, name):
    fig.savefig(os.path.join(args.out, name), dpi=120, bbox_inches="tight")


X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

# denoising: masked test digits, plain AE vs denoising AE (masking noise, rate drawn per batch)
rng = np.random.RandomState(0)
masked = np.where(rng.rand(*X_test.shape) < 0.3, 0.0, X_test)
plain = AutoEncoder(latent_dim=16, random_state=0, **epochs).fit(X_train)
dae = AutoEncoder(latent_dim=16, corruption="masking", corruption__p_min=0.1, corruption__p_max=0.5,
                  random_state=0, **epochs).fit(X_train)
e_plain = np.mean((plain.denoise(masked) - X_test) ** 2)
e_dae = np.mean((dae.denoise(masked) - X_test) ** 2)
print(f"denoising 30%-masked test digits, MSE to clean: plain AE {e_plain:.4f}, denoising AE {e_dae:.4f}")
save(image_grid(np.stack([X_test[:10], masked[:10], plain.denoise(masked[:10]), dae.denoise(masked[:10])]),
                (8, 8), row_labels=["clean", "masked", "plain AE", "denoising AE"]), "denoising.png")

# sparse codes (an L1 penalty on the codes): share of near-zero codes
sparse = AutoEncoder(latent_dim=32, regularizers={"l1_activity": 0.1}, random_state=0, **epochs).fit(X_train)
dense32 = AutoEncoder(latent_dim=32, random_state=0, **epochs).fit(X_train)
near_zero = [np.mean(np.abs(Z) < 0.01 * np.abs(Z).max()) for Z in (dense32.transform(X_test), sparse.transform(X_test))]
print(f"share of near-zero codes (latent 32): plain {near_zero[0]:.2f}, l1_activity {near_zero[1]:.2f}")

# VAE: samples from the prior and a latent interpolation
vae = VAE(latent_dim=8, likelihood="bernoulli", random_state=0, **epochs).fit(X_train)
print(f"VAE test ELBO {vae.score_samples(X_test).mean():.2f} nats, "
      f"IWAE(K=200) {vae.score_samples(X_test, method='iwae', n_samples=200).mean():.2f} nats")
save(image_grid(vae.sample(40, random_state=0), (8, 8), n_cols=10, title="VAE samples"), "vae_samples.png")
paths = vae.interpolate(X_test[:4], X_test[4:8], n_steps=10)
save(image_grid(paths, (8, 8), title="VAE latent interpolation z_t = (1-t) z0 + t z1"), "vae_interpolation.png")

# conditional VAE: one row per class
clf = LogisticRegression(max_iter=3000).fit(X_train, y_train)
cvae = ConditionalVAE(latent_dim=8, conditioning="film", likelihood="bernoulli", random_state=0, **epochs)
cvae.fit(X_train, y_train)
rows = np.stack([cvae.sample(10, y=k, random_state=k) for k in range(10)])
rate = np.mean([np.mean(clf.predict(r) == k) for k, r in enumerate(rows)])
print(f"ConditionalVAE (film): {rate:.0%} of generated digits classified as the requested class")
save(image_grid(rows, (8, 8), row_labels=[str(k) for k in range(10)], title="ConditionalVAE: one row per class"),
     "cvae_rows_per_class.png")
print(f"figures saved to {args.out}/")
