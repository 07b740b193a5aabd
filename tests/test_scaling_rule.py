"""scaling="auto": one scale per column for tables and unrelated units, one global scale for pixel-like arrays."""

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA

from skae import VAE, AutoEncoder

FAST = dict(max_epochs=10, random_state=0)


def test_columns_in_unrelated_units_get_a_scale_each():
    X = load_wine().data
    ae = AutoEncoder(**FAST).fit(X)
    np.testing.assert_allclose(ae.scaling_scale_, X.std(0), rtol=1e-6)


def test_pixels_share_one_scale():
    X = load_digits().data
    ae = AutoEncoder(**FAST).fit(X)
    scale = ae.scaling_scale_
    varying = X.std(0) > 0
    assert np.unique(scale[varying]).size == 1


def test_a_dataframe_is_a_table_whatever_its_ranges():
    X = load_digits().data[:, :8]
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(8)])
    ae = AutoEncoder(**FAST).fit(frame)
    varying = X.std(0) > 0
    np.testing.assert_allclose(ae.scaling_scale_[varying], X.std(0)[varying], rtol=1e-6)


def test_the_wine_walkthrough_model_beats_pca_with_two_codes():
    # the README's command-line walkthrough: latent_dim=2 on wine's 13 columns, judged in standard deviations
    X = load_wine().data
    ae = AutoEncoder(latent_dim=2, random_state=0).fit(X)
    sd = X.std(0)
    ae_error = np.mean(((ae.reconstruct(X) - X) / sd) ** 2)
    Z = (X - X.mean(0)) / sd
    pca = PCA(2).fit(Z)
    pca_error = np.mean((pca.inverse_transform(pca.transform(Z)) - Z) ** 2)
    assert ae_error < pca_error < 1.0


def test_a_numeric_dataframe_samples_a_table_with_drawn_values():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"flag": rng.randint(0, 2, 400), "noise": rng.normal(size=400),
                          "size": rng.randint(1, 6, 400)})
    rows = VAE(**FAST).fit(frame).sample(300, random_state=0)
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == list(frame.columns)
    assert (rows.dtypes == frame.dtypes).all()
    assert set(rows["flag"]) <= {0, 1} and rows["flag"].nunique() == 2  # drawn, not a decoded mean of 0.3-0.4
    assert rows["noise"].std() > 0.5  # the spread of the data, not of decoded means
