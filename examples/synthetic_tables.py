"""Synthetic tables: ``VAE().fit(df).sample(n)`` on the penguins, unconditional, with chosen values, per class.

Palmer penguins (palmerpenguins ships the data): the VAE takes the DataFrame as
it is and samples rows with the same columns, dtypes and categories; numbers
keep each column's shape (the VAE maps every numeric column through its
training distribution onto a normal and back) and stay integers where they
were.  ``sample(n, given={"island": "Biscoe"})`` draws rows with chosen values
from the same model, without retraining.  Prints how close the synthetic
columns are to the real ones; saves synthetic_tables.png (real vs synthetic
marginals, and bill length against flipper length by species).
Run: ``python examples/synthetic_tables.py [--fast] [--out DIR]``.
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
from scipy.stats import ks_2samp

from skae import VAE

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="30 epochs (a smoke test for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
if args.fast:
    print("--fast: smoke-test settings (30 epochs); the numbers below are not the library's quality")

penguins = load_penguins().dropna().reset_index(drop=True)
vae = VAE(random_state=0, **({"max_epochs": 30} if args.fast else {})).fit(penguins)
synthetic = vae.sample(len(penguins), random_state=0)  # a DataFrame: the same columns, dtypes and categories
assert list(synthetic.dtypes) == list(penguins.dtypes)

numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
print(f"{'column':20s} {'real mean':>10s} {'synthetic':>10s} {'KS distance':>12s}")
for column in numeric:
    ks = ks_2samp(penguins[column], synthetic[column]).statistic
    print(f"{column:20s} {penguins[column].mean():10.1f} {synthetic[column].mean():10.1f} {ks:12.3f}")
for column in ("species", "island", "sex"):
    real, synth = penguins[column].value_counts(normalize=True), synthetic[column].value_counts(normalize=True)
    print(f"{column:20s} " + ", ".join(f"{k} {real[k]:.2f}/{synth.get(k, 0):.2f}" for k in real.index) + "  (real/synthetic)")
print(f"integers stay integers: {synthetic['year'].dtype}, values {sorted(synthetic['year'].unique())}")

biscoe = vae.sample(300, random_state=1, given={"island": "Biscoe"})
real = penguins[penguins.island == "Biscoe"].species.value_counts(normalize=True)
print("species on Biscoe, real vs sample(given={'island': 'Biscoe'}): "
      + ", ".join(f"{k} {real.get(k, 0):.2f}/{v:.2f}" for k, v in biscoe.species.value_counts(normalize=True).items()))

fig, axes = plt.subplots(1, 5, figsize=(19, 3.4))
for ax, column in zip(axes[:3], ["bill_length_mm", "flipper_length_mm", "body_mass_g"]):
    bins = np.linspace(penguins[column].min(), penguins[column].max(), 25)
    ax.hist(penguins[column], bins=bins, alpha=0.55, label="real", color="#4c72b0")
    ax.hist(synthetic[column], bins=bins, alpha=0.55, label="synthetic", color="#dd8452")
    ax.set_title(column)
    ax.legend(fontsize=8)
colors = {"Adelie": "#4c72b0", "Chinstrap": "#dd8452", "Gentoo": "#55a868"}
for ax, (frame, title) in zip(axes[3:], [(penguins, "real"), (synthetic, "synthetic")]):
    for species, group in frame.groupby("species"):
        ax.scatter(group.flipper_length_mm, group.bill_length_mm, s=8, color=colors[species], label=species)
    ax.set_xlabel("flipper_length_mm")
    ax.set_ylabel("bill_length_mm")
    ax.set_title(f"{title} rows by species")
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(args.out, "synthetic_tables.png"), dpi=110)
print(f"figures saved to {args.out}/")
