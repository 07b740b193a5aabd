"""VAE: bounds against an exact likelihood, sampling, interpolation, options."""

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from skae import VAE, BetaVAE

FAST = dict(hidden_dims=(16,), max_epochs=5, random_state=0)


def test_iwae_approaches_exact_loglik_of_linear_gaussian_model_and_elbo_stays_below():
    rng = np.random.RandomState(0)
    n, d, latent = 400, 5, 2
    X = rng.normal(size=(n, latent)) @ rng.normal(size=(latent, d)) + rng.normal(size=d) + 0.3 * rng.normal(size=(n, d))
    vae = VAE(latent_dim=latent, hidden_dims=(), scaling=None, sigma0=1.0, learn_sigma0=True, lr=1e-2,
              batch_size=100, max_epochs=250, early_stopping=False, random_state=0).fit(X)
    # A linear decoder makes the model probabilistic PCA: p(x) = N(b, W Wᵀ + σ0² I) exactly.
    linear = vae.module_.decoder.net[0]
    W, b = linear.weight.detach().double().numpy(), linear.bias.detach().double().numpy()
    exact = multivariate_normal(b, W @ W.T + vae.sigma0_**2 * np.eye(d)).logpdf(X)
    # IWAE_K is a lower bound on log p(x) in expectation; one evaluation carries Monte-Carlo noise,
    # so each comparison allows 3 standard errors of the mean over rows
    diff = {k: vae.score_samples(X, method="iwae", n_samples=k) - exact for k in (1, 10, 100, 1000)}
    se = {k: v.std() / np.sqrt(n) for k, v in diff.items()}
    gap = {k: -v.mean() for k, v in diff.items()}
    elbo = vae.score_samples(X, n_samples=200) - exact  # E[IWAE_1], with 200 draws per row
    elbo_gap, elbo_se = -elbo.mean(), elbo.std() / np.sqrt(n)
    assert elbo_gap > 3 * elbo_se
    assert all(gap[k] > -3 * se[k] for k in diff)  # never above log p(x) beyond noise
    assert elbo_gap - gap[1000] > 3 * np.hypot(elbo_se, se[1000])  # the bound tightens as K grows
    assert gap[10] - gap[1000] > -3 * np.hypot(se[10], se[1000])
    assert abs(gap[1000]) < max(3 * se[1000], 1e-3) and abs(gap[100]) < 5e-3
    assert se[1000] < 1e-3 and gap[1000] < 0.1 * elbo_gap


def test_scores_are_row_independent_and_repeatable(digits):
    X, _ = digits
    vae = VAE(latent_dim=4, **FAST).fit(X)
    full = vae.score_samples(X[:50], method="iwae", n_samples=20)
    np.testing.assert_allclose(vae.score_samples(X[10:20], method="iwae", n_samples=20), full[10:20])
    np.testing.assert_array_equal(vae.score_samples(X[:50], method="iwae", n_samples=20), full)
    assert vae.score_samples(X[:50], method="elbo").mean() < full.mean()


def test_bernoulli_vae_on_images_and_encode_options(digits):
    X, _ = digits
    X = X / 16.0
    vae = VAE(latent_dim=3, likelihood="bernoulli", **FAST).fit(X)
    mean, std = vae.encode(X[:5], kind="mean_std")
    np.testing.assert_array_equal(mean, vae.transform(X[:5]))
    assert (std > 0).all()
    draw = vae.encode(X[:5], kind="sample", random_state=0)
    assert draw.shape == (5, 3) and not np.allclose(draw, mean)
    samples = vae.sample(6, random_state=0)
    assert samples.shape == (6, 64) and samples.min() >= 0 and samples.max() <= 1
    binary = vae.sample(6, random_state=0, draw=True)
    assert set(np.unique(binary)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VAE(likelihood="bernoulli", **FAST).fit(X * 16)


def test_gaussian_sampling_interpolation_and_learned_sigma(digits):
    X, _ = digits
    vae = VAE(latent_dim=2, learn_sigma0=True, **FAST).fit(X)
    assert vae.sigma0_ != pytest.approx(0.1)  # it moved
    path = vae.interpolate(X[0], X[1], n_steps=5)
    assert path.shape == (5, 64)
    np.testing.assert_allclose(path[0], vae.inverse_transform(vae.transform(X[:1]))[0], rtol=1e-6)
    means = vae.sample(200, random_state=0)
    draws = vae.sample(200, random_state=0, draw=True)
    assert draws.std() > means.std()  # decoder noise on top of the means


def test_beta_weights_the_kl_term(digits):
    X, _ = digits
    b1 = VAE(latent_dim=4, **FAST).fit(X)
    b8 = BetaVAE(beta=8.0, latent_dim=4, **FAST).fit(X)
    assert isinstance(b8, VAE) and b8.beta == 8.0

    def kl(v):
        mean, std = v.encode(X, kind="mean_std")
        return np.mean(0.5 * np.sum(mean**2 + std**2 - 1 - 2 * np.log(std), axis=1))

    assert kl(b8) < kl(b1)


def test_vae_objective_gradients_reach_encoder_and_decoder(digits):
    X, _ = digits
    vae = VAE(latent_dim=2, **FAST).fit(X)
    x = torch.as_tensor(vae.scaler_.transform(X[:32]), dtype=torch.float32)
    loss = vae.net_.criterion_(vae.module_, (x, None), training=True)
    loss.backward()
    assert all(p.grad is not None for p in vae.module_.parameters() if p.requires_grad)
