"""Generative behaviour: the learned observation scale, samplers, counterfactual decoding."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import skae
from skae import VAE, AutoEncoder, ConditionalVAE
from skae.modules import SIGMA_FLOOR


@pytest.fixture(scope="module")
def two_noise_levels():
    """Features 0-3 carry noise of std 0.05, features 4-7 of std 0.5, around a 2-D signal."""
    rng = np.random.RandomState(0)
    signal = np.tanh(rng.normal(size=(600, 2)) @ rng.normal(size=(2, 8)))
    noise = rng.normal(size=(600, 8)) * np.r_[[0.05] * 4, [0.5] * 4]
    return signal + noise


def test_per_feature_scale_matches_the_residuals(two_noise_levels):
    X = two_noise_levels
    vae = VAE(latent_dim=2, hidden_dims=(32,), learn_sigma0="per_feature", sigma0=1.0, scaling="standard",
              max_epochs=150, random_state=0).fit(X)
    sigma = vae.sigma0_ * vae.scaling_scale_  # in X's units
    assert sigma.shape == (8,)
    # for a fixed encoder and decoder the ELBO is maximal at sigma_j^2 = E_q (x_j - decoded_j)^2, the
    # residual of decodings of posterior draws; computed here independently of the training loss
    draws = [vae.inverse_transform(vae.encode(X, kind="sample", random_state=s)) for s in range(20)]
    optimal = np.sqrt(np.mean([np.mean((d - X) ** 2, axis=0) for d in draws], axis=0))
    np.testing.assert_allclose(sigma[4:], optimal[4:], rtol=0.05)
    # small scales are still shrinking at Adam's pace (about lr per step in log sigma): close, from above
    assert np.all(sigma[:4] >= 0.95 * optimal[:4]) and np.all(sigma[:4] <= 1.4 * optimal[:4])
    assert sigma[4:].mean() > 2.5 * sigma[:4].mean()
    shared = VAE(latent_dim=2, hidden_dims=(32,), learn_sigma0=True, max_epochs=20, random_state=0).fit(X)
    assert isinstance(shared.sigma0_, float)


def test_a_learned_scale_stays_above_its_floor_on_a_constant_feature(two_noise_levels):
    X = np.c_[two_noise_levels, np.zeros(len(two_noise_levels))]
    # a constant feature is reconstructed exactly, so its likelihood pushes sigma to zero; lr=1e-2 lets
    # log sigma travel far enough in 1,000 steps to meet the floor
    vae = VAE(latent_dim=2, hidden_dims=(32,), learn_sigma0="per_feature", lr=1e-2, max_epochs=100,
              random_state=0).fit(X)
    assert SIGMA_FLOOR <= vae.sigma0_[-1] < 10 * SIGMA_FLOOR
    assert vae.sigma0_[-1] < 0.1 * vae.sigma0_[:-1].min()
    assert np.isfinite(vae.score_samples(X)).all()


def test_sampler_option(two_noise_levels, tmp_path):
    X = two_noise_levels
    vae = VAE(latent_dim=2, hidden_dims=(32,), max_epochs=30, random_state=0).fit(X)
    prior, mixture = (vae.sample(2000, random_state=0, sampler=s) for s in ("prior", "mixture"))
    assert prior.shape == mixture.shape == (2000, 8) and not np.allclose(prior, mixture)
    # mixture codes are spread like the training codes, whatever the prior says
    codes = vae.transform(X)
    drawn = vae.model_.sampler("mixture").draw(20000, np.random.RandomState(0))
    np.testing.assert_allclose(drawn.mean(0), codes.mean(0), atol=0.05 * codes.std(0).max())
    np.testing.assert_allclose(drawn.std(0), codes.std(0), rtol=0.15)
    np.testing.assert_array_equal(vae.sample(5, random_state=1, sampler="mixture"),
                                  vae.sample(5, random_state=1, sampler="mixture"))
    skae.save(vae, tmp_path / "v.skae")  # the codes the mixture is fitted on travel with the model
    np.testing.assert_array_equal(skae.load(tmp_path / "v.skae").sample(5, random_state=1, sampler="mixture"),
                                  vae.sample(5, random_state=1, sampler="mixture"))
    ae = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=5, random_state=0).fit(X)
    with pytest.raises(ValueError, match="no prior"):
        ae.sample(3, sampler="prior")
    with pytest.raises(ValueError, match="sampler must be"):
        vae.sample(3, sampler="gmm")


@pytest.fixture(scope="module")
def unit_digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_conditional_mixture_samples_each_class_from_its_own_codes(unit_digits):
    X, y = unit_digits
    cvae = ConditionalVAE(latent_dim=4, hidden_dims=(64,), max_epochs=20, random_state=0).fit(X, y)
    for k in (1, 7):
        codes = cvae.training_codes_[cvae.training_conditions_.argmax(1) == k]
        z = cvae.model_.sampler("mixture").draw(3000, np.random.RandomState(0), cvae.condition_encoder_.transform(k, 3000))
        np.testing.assert_allclose(z.mean(0), codes.mean(0), atol=0.15)
    samples = cvae.sample(10, y=np.arange(10), sampler="mixture", random_state=0)
    assert samples.shape == (10, 64)


def test_counterfactual_decoding_changes_the_class_and_keeps_the_style(unit_digits):
    X, y = unit_digits
    clf = LogisticRegression(max_iter=3000).fit(X, y)
    cvae = ConditionalVAE(latent_dim=8, random_state=0).fit(X[:1400], y[:1400])
    X_test, y_test = X[1400:], y[1400:]
    target = (y_test + 1) % 10
    moved = cvae.inverse_transform(cvae.transform(X_test, y_test), y=target)
    assert np.mean(clf.predict(moved) == target) >= 0.9
    # the style stays: decoded with its own class, a row reconstructs better than other rows of that class do
    own = cvae.inverse_transform(cvae.transform(X_test, y_test), y=y_test)
    assert np.mean((own - X_test) ** 2) < 0.5 * np.mean((own - np.roll(X_test, 1, axis=0)) ** 2)
