"""Convolutional vs dense autoencoders on 8x8 digit images (a small conv encoder / transposed-conv decoder).

Images go in as a 4-D array (n, 1, 8, 8); the conv encoder is stride-2 3x3
convolutions, the decoder mirrors them with transposed convolutions and a sigmoid
output (Bernoulli likelihood for the VAE).  Prints test reconstruction error and
parameter counts at equal latent size; saves conv_reconstructions.png and
conv_vae_samples.png.
Run: ``python examples/convolutional_digits.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import VAE, AutoEncoder
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

X, _ = load_digits(return_X_y=True)
images = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
train, test = train_test_split(images, test_size=0.25, random_state=0)
latent = 8

models = {
    "dense AE": AutoEncoder(latent_dim=latent, loss="bce", random_state=0, **epochs),
    "conv AE": AutoEncoder(latent_dim=latent, loss="bce", architecture="conv", hidden_dims=(),
                           architecture__channels=(16, 32, 64), random_state=0, **epochs),
}
flat_train, flat_test = train.reshape(len(train), -1), test.reshape(len(test), -1)
pca = PCA(latent).fit(flat_train)
mse_pca = np.mean((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2)
print(f"{'model':10s} {'test MSE':>9s} {'x PCA':>6s} {'parameters':>11s}")
print(f"{'PCA':10s} {mse_pca:9.4f} {1.0:6.2f} {pca.components_.size:11d}")
recon = {}
for name, model in models.items():
    # the conv model takes the 4-D images (images in, images out); the dense one takes flat rows
    # (a Pipeline passes flat rows to both)
    tr, te = (train, test) if name.startswith("conv") else (flat_train, flat_test)
    model.fit(tr)
    recon[name] = model.reconstruct(te[:10])
    mse = np.mean((model.reconstruct(te) - te) ** 2)
    n_params = sum(p.numel() for p in model.module_.parameters())
    print(f"{name:10s} {mse:9.4f} {mse / mse_pca:6.2f} {n_params:11d}")

grid = np.stack([test[:10].reshape(10, -1)] + [r.reshape(10, -1) for r in recon.values()])
fig = image_grid(grid, (8, 8), row_labels=["original", *recon], title=f"reconstructions, latent {latent}")
fig.savefig(os.path.join(args.out, "conv_reconstructions.png"), dpi=120, bbox_inches="tight")

vae = VAE(latent_dim=latent, likelihood="bernoulli", architecture="conv", hidden_dims=(), random_state=0, **epochs)
vae.fit(train)
print(f"conv VAE test ELBO {vae.score_samples(test).mean():.2f} nats/image, "
      f"IWAE(K=200) {vae.score_samples(test, method='iwae', n_samples=200).mean():.2f}")
fig = image_grid(vae.sample(40, random_state=0), (8, 8), title="conv VAE samples")
fig.savefig(os.path.join(args.out, "conv_vae_samples.png"), dpi=120, bbox_inches="tight")
print(f"figures saved to {args.out}/")
