import json
import subprocess
import sys

import numpy as np
import torch

from skae import AutoEncoder, plugins
from skae.testing import check_regularizer


def test_discovered_through_the_entry_point():
    reg = plugins.get("regularizer", "decorrelation")
    assert reg.distribution == "skae-decorrelation"


def test_listed_by_the_cli():
    out = subprocess.run([sys.executable, "-m", "skae", "plugins", "--json"], capture_output=True, text=True, check=True)
    row = next(r for r in json.loads(out.stdout) if r["distribution"] == "skae-decorrelation")
    assert row["regularizers"] == ["decorrelation"]


def test_passes_the_plugin_contract_checks():
    check_regularizer("decorrelation")


def test_penalty_against_numpy():
    from skae_decorrelation import Decorrelation

    from skae.regularizers import PenaltyContext

    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    cov = np.cov(z.numpy(), rowvar=False)
    expected = 0.5 * (np.sum(cov**2) - np.sum(np.diag(cov) ** 2))
    got = Decorrelation().penalty(PenaltyContext(None, None, z, None))
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_trains_and_decorrelates_codes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 8)) + 0.05 * rng.normal(size=(400, 8))
    kw = dict(latent_dim=3, hidden_dims=(16,), max_epochs=60, early_stopping=False, random_state=0)
    plain = AutoEncoder(**kw).fit(X).transform(X)
    decor = AutoEncoder(regularizers=["decorrelation"], regularizers__decorrelation__weight=1.0, **kw).fit(X).transform(X)

    def off_diag(z):
        c = np.corrcoef(z, rowvar=False)
        return np.abs(c[~np.eye(len(c), dtype=bool)]).mean()

    assert off_diag(decor) < off_diag(plain)
