"""A row's result does not depend on the rows passed with it: bit for bit, for every method and variant.

Inference runs in float32 (tests/test_hardening.py and the benchmarks cover accuracy); these
tests pin the layout that makes each row's result independent of its neighbours.
"""

import numpy as np
import pytest

from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector, ConditionalVAE
from skae.model._chunks import LANES, lane_plan

rng = np.random.RandomState(0)


def _assert_batch_independent(f, X, *extra):
    full = f(X, *extra)
    singles = np.concatenate([f(X[i:i + 1], *[e[i:i + 1] for e in extra]) for i in range(12)])
    np.testing.assert_array_equal(full[:12], singles)
    perm = rng.permutation(len(X))
    np.testing.assert_array_equal(full[perm], f(X[perm], *[e[perm] for e in extra]))
    np.testing.assert_array_equal(full[5:77], f(X[5:77], *[e[5:77] for e in extra]))


# input widths and layer widths not multiples of 4, narrow outputs: the shapes whose float32 kernels
# depend on a row's alignment; 6-8-2 is scikit-learn's own check
SHAPES = [(3, (8,), 2), (6, (8,), 2), (5, (10,), 3), (7, (9, 5), 2), (13, (), 3), (30, (64, 32), 6)]


@pytest.mark.parametrize("d,hidden,latent", SHAPES)
@pytest.mark.parametrize("activation", ["elu", "gelu"])
def test_autoencoder_and_vae_rows_are_batch_independent(d, hidden, latent, activation):
    X = rng.normal(size=(150, d))
    kw = dict(latent_dim=latent, hidden_dims=hidden, activation=activation, max_epochs=2, random_state=0)
    ae = AutoEncoder(**kw).fit(X)
    for method in (ae.transform, ae.reconstruct, ae.score_samples):
        _assert_batch_independent(method, X)
    vae = VAE(**kw).fit(X)
    _assert_batch_independent(vae.score_samples, X)
    _assert_batch_independent(lambda a: vae.score_samples(a, method="iwae", n_samples=7), X)
    _assert_batch_independent(vae.inverse_transform, rng.normal(size=(60, latent)))


@pytest.mark.parametrize("conditioning", ["concat", "film", "embedding", "cross_attention"])
def test_conditional_rows_are_batch_independent(conditioning):
    X, y = rng.normal(size=(150, 7)), rng.randint(0, 3, size=150)
    cvae = ConditionalVAE(latent_dim=3, hidden_dims=(9,), conditioning=conditioning, conditional_prior=True,
                          max_epochs=2, random_state=0).fit(X, y)
    _assert_batch_independent(cvae.transform, X, y)
    _assert_batch_independent(cvae.score_samples, X, y)


@pytest.mark.parametrize("d", [3, 6, 13])
def test_detector_rows_are_batch_independent(d):
    # the default detector's members run as one batched network, whose tiny products (a few rows of a
    # narrow member) take another kernel than large ones
    X = 3 * rng.uniform(size=(150, d))
    detector = AutoEncoderOutlierDetector(random_state=0).fit(X)
    for method in (detector.decision_function, detector.feature_errors):
        _assert_batch_independent(method, X)


def test_conv_rows_are_batch_independent():
    images = rng.rand(100, 1, 7, 5)
    ae = AutoEncoder(latent_dim=3, architecture="conv", architecture__channels=(4, 6), hidden_dims=(), max_epochs=2,
                     random_state=0).fit(images)
    _assert_batch_independent(ae.reconstruct, images)


def test_duplicates_are_computed_once_and_lanes_are_balanced():
    row = rng.normal(size=(1, 9)).astype(np.float32)
    layout = lane_plan([np.repeat(row, 1000, axis=0)])
    assert layout.size == LANES + 32  # one computed row and the trailing padding, not 4,000 rows
    distinct = rng.normal(size=(4096, 9)).astype(np.float32)
    assert lane_plan([distinct]).size < 1.1 * 4096
    X = np.repeat(rng.normal(size=(3, 5)), 40, axis=0)
    ae = AutoEncoder(latent_dim=2, hidden_dims=(6,), max_epochs=2, random_state=0).fit(X)
    _assert_batch_independent(ae.transform, X)


def test_float32_input_takes_the_fast_path_and_agrees_to_float32_rounding():
    X = rng.normal(size=(80, 6)).astype(np.float32)
    ae = AutoEncoder(latent_dim=2, hidden_dims=(8,), max_epochs=2, random_state=0).fit(X)
    z32, z64 = ae.transform(X), ae.transform(X.astype(np.float64))
    assert z32.dtype == np.float32 and z64.dtype == np.float64
    np.testing.assert_allclose(z32, z64, rtol=1e-5, atol=1e-6)


def test_data_far_from_zero_keeps_its_precision():
    X = rng.normal(size=(300, 5))
    kw = dict(latent_dim=2, hidden_dims=(8,), max_epochs=5, random_state=0, scaling="standard")
    near, far = AutoEncoder(**kw).fit(X), AutoEncoder(**kw).fit(X + 1e8)
    # the same data, 1e8 away: scaled identically, so the same model and the same codes
    np.testing.assert_allclose(far.transform(X + 1e8), near.transform(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(far.reconstruct(X + 1e8) - 1e8, near.reconstruct(X), rtol=1e-4, atol=1e-5)
