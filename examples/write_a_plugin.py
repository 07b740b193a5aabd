"""Writing a third-party regularizer plugin, as another package would.

A plugin is a module with ``@skae.hookimpl def skae_register_regularizers(register)``.
In a package it is announced in ``pyproject.toml``::

    [project.entry-points.skae]
    orthogonality = "my_package.plugin"

and found by ``import skae`` (lazily); here it is registered at run time with
``skae.plugins.register``.  The penalty below pushes the code covariance towards
the identity (decorrelated, unit-variance codes).  The example checks it with
``skae.testing.check_regularizer``, tunes its weight with GridSearchCV, and saves
plugin_code_correlation.png (code correlation matrices without / with it).
Run: ``python examples/write_a_plugin.py [--fast] [--out DIR]``.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

import skae
from skae.regularizers import Regularizer
from skae.testing import check_regularizer

torch.set_num_threads(1)
parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--fast", action="store_true", help="few epochs (for CI)")
parser.add_argument("--out", default="examples/output")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
epochs = 5 if args.fast else 60
if args.fast:
    print("--fast: smoke-test settings (a few epochs); the numbers below are not the library's quality "
          "(see the README for them)")


# ---- the plugin: this part would live in my_package/plugin.py ------------------------------
class Orthogonality(Regularizer):
    """‖Cov(z) − I‖²_F over the batch's codes: decorrelated, unit-variance codes.

    Parameters
    ----------
    weight : float, default=1.0
    """

    def __init__(self, weight=1.0):
        super().__init__(weight=weight)

    def penalty(self, ctx):
        z = ctx.codes - ctx.codes.mean(0)
        cov = z.T @ z / max(len(z) - 1, 1)
        return (cov - torch.eye(len(cov), dtype=z.dtype, device=z.device)).square().sum()


@skae.hookimpl
def skae_register_regularizers(register):
    register("orthogonality", Orthogonality)
# ---------------------------------------------------------------------------------------------


class plugin:  # stands in for the module ``my_package.plugin``
    skae_register_regularizers = staticmethod(skae_register_regularizers)


skae.plugins.register(plugin, name="my-package")
print("registered regularizers:", ", ".join(skae.plugins.available("regularizer")))
check_regularizer("orthogonality")  # the contract every built-in passes too
print("check_regularizer('orthogonality') passed")

X, _ = load_digits(return_X_y=True)
X = X / 16.0
search = GridSearchCV(
    skae.AutoEncoder(latent_dim=6, regularizers="orthogonality", max_epochs=epochs, random_state=0),
    {"regularizers__orthogonality__weight": [0.0, 0.01, 0.1]}, cv=3,
).fit(X)
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"  {params}  score (minus reconstruction MSE) {score:.5f}")

plain = skae.AutoEncoder(latent_dim=6, max_epochs=epochs, random_state=0).fit(X)
ortho = skae.AutoEncoder(latent_dim=6, regularizers={"orthogonality": 0.1}, max_epochs=epochs, random_state=0).fit(X)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, (name, model) in zip(axes, [("plain", plain), ("orthogonality 0.1", ortho)]):
    corr = np.corrcoef(model.transform(X).T)
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)]).mean()
    print(f"{name:18s} mean |correlation| between codes {off:.3f}")
    ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_title(f"{name}: mean |r| = {off:.2f}")
fig.savefig(os.path.join(args.out, "plugin_code_correlation.png"), dpi=120, bbox_inches="tight")
skae.plugins.unregister(plugin)
print(f"figures saved to {args.out}/")
