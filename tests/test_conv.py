"""Convolutional architecture for every variant, and the architecture contract."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split

from skae import VAE, AutoEncoder, ConditionalVAE
from skae.architectures import build_conv, build_dense

FAST = dict(latent_dim=4, hidden_dims=(), max_epochs=3, random_state=0)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 7, 5), (2, 1, 9)])
def test_odd_image_sizes_round_trip(shape):
    n = int(np.prod(shape))
    enc, dec = build_conv(n_features=n, encoder_out=6, latent_dim=3, hidden_dims=(), activation="relu",
                          image_shape=shape, channels=(4, 8, 8))
    x = torch.randn(2, n)
    assert enc(x).shape == (2, 6)
    assert dec(torch.randn(2, 3)).shape == (2, n)


def test_conv_every_variant_on_digits(digits):
    X, y = digits
    X = X[:300] / 16.0
    y = y[:300]
    kw = dict(architecture="conv", architecture__image_shape=(8, 8), architecture__channels=(8, 16), **FAST)
    ae = AutoEncoder(**kw).fit(X)
    assert ae.reconstruct(X[:5]).shape == (5, 64)
    vae = VAE(likelihood="bernoulli", **kw).fit(X)
    assert vae.sample(3, random_state=0).shape == (3, 64)
    for method in ("concat", "film"):
        cvae = ConditionalVAE(conditioning=method, likelihood="bernoulli", **kw).fit(X, y)
        Z = np.zeros((2, 4))
        assert not np.allclose(cvae.inverse_transform(Z, y=0), cvae.inverse_transform(Z, y=1))


def test_conv_beats_dense_at_equal_latent_size_with_fewer_parameters(digits):
    X, _ = digits
    Xtr, Xte = train_test_split(X / 16.0, test_size=0.25, random_state=0)
    kw = dict(latent_dim=8, max_epochs=60, random_state=0)
    conv = AutoEncoder(architecture="conv", architecture__image_shape=(8, 8), hidden_dims=(), **kw).fit(Xtr)
    dense = AutoEncoder(hidden_dims=(64,), **kw).fit(Xtr)
    n_params = {m: sum(p.numel() for p in e.module_.parameters()) for m, e in (("conv", conv), ("dense", dense))}
    err = {m: np.mean((e.reconstruct(Xte) - Xte) ** 2) for m, e in (("conv", conv), ("dense", dense))}
    assert np.isfinite(list(err.values())).all()
    assert err["conv"] < 1.5 * err["dense"], (err, n_params)


def test_wrong_image_shape_is_a_clear_error_at_fit(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"holds 49 values but X has 64 features"):
        AutoEncoder(architecture="conv", architecture__image_shape=(7, 7), **FAST).fit(X)
    with pytest.raises(ValueError, match="not a square"):
        AutoEncoder(architecture="conv", **FAST).fit(X[:, :10])


def test_user_supplied_builder_callable(digits):
    X, _ = digits
    calls = []

    def builder(**kwargs):
        calls.append(kwargs)
        return build_dense(**kwargs)

    ae = AutoEncoder(architecture=builder, **{**FAST, "hidden_dims": (8,)}).fit(X)
    assert calls and calls[0]["n_features"] == 64 and calls[0]["encoder_out"] == 4
    assert ae.transform(X[:2]).shape == (2, 4)


def test_four_d_images_are_accepted_and_flattened_inside(digits):
    X, y = digits
    X = (X[:200] / 16.0).astype(np.float32)
    images = X.reshape(-1, 1, 8, 8)
    ae = AutoEncoder(architecture="conv", architecture__channels=(8, 16), **FAST).fit(images)
    assert ae.image_shape_ == (1, 8, 8) and ae.n_features_in_ == 64
    # a Pipeline passes flat rows; 4-D and (n, H, W) arrays give the same codes
    np.testing.assert_array_equal(ae.transform(images), ae.transform(X))
    np.testing.assert_array_equal(ae.transform(images[:, 0]), ae.transform(X))
    assert ae.reconstruct(images).shape == images.shape
    assert ae.reconstruct(X).shape == X.shape
    vae = VAE(likelihood="bernoulli", architecture="conv", architecture__channels=(8,), **FAST).fit(images)
    assert np.isfinite(vae.score_samples(images)).all()
    cvae = ConditionalVAE(likelihood="bernoulli", architecture="conv", architecture__channels=(8,), **FAST)
    cvae.fit(images, y[:200])
    assert cvae.transform(images, y[:200]).shape == (200, 4)


def test_image_input_shape_errors(digits):
    X, _ = digits
    images = (X[:100] / 16.0).reshape(-1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"architecture='dense' takes 2-D X"):
        AutoEncoder(**FAST).fit(images)
    with pytest.raises(ValueError, match=r"X holds images of shape \(1, 8, 8\).*image_shape=\(1, 4, 16\)"):
        AutoEncoder(architecture="conv", architecture__image_shape=(1, 4, 16), **FAST).fit(images)
    ae = AutoEncoder(architecture="conv", architecture__channels=(4,), **FAST).fit(images)
    with pytest.raises(ValueError, match=r"takes images of shape \(1, 8, 8\)"):
        ae.transform(images.reshape(-1, 1, 4, 16))
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        AutoEncoder(architecture="conv", **FAST).fit(images[..., None])
