"""Each loss against an independent computation (torch.distributions, Monte Carlo)."""

import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from skae.losses import (
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
    kl_normal,
    kl_standard_normal,
    normal_log_density,
)

g = torch.Generator().manual_seed(0)


def test_gaussian_log_likelihood_matches_torch_distributions():
    x, mean = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    for log_sigma in (torch.tensor(-1.3), torch.randn(7, generator=g)):
        expected = Independent(Normal(mean, log_sigma.exp().expand(5, 7)), 1).log_prob(x)
        torch.testing.assert_close(gaussian_log_likelihood(x, mean, log_sigma), expected)


def test_bernoulli_log_likelihood_matches_torch_distributions():
    x = torch.randint(0, 2, (5, 9), generator=g).float()
    logits = 3 * torch.randn(5, 9, generator=g)
    expected = Independent(Bernoulli(logits=logits), 1).log_prob(x)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected)


def test_closed_form_kls_match_torch_and_monte_carlo():
    mq, lq = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    mp, lp = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    q = Independent(Normal(mq, (0.5 * lq).exp()), 1)
    p = Independent(Normal(mp, (0.5 * lp).exp()), 1)
    torch.testing.assert_close(kl_normal(mq, lq, mp, lp), kl_divergence(q, p))
    z = q.sample((200_000,))
    mc = (normal_log_density(z, mq, lq) - normal_log_density(z, mp, lp)).mean(0)
    torch.testing.assert_close(kl_normal(mq, lq, mp, lp), mc, rtol=0.03, atol=0.03)
    mc0 = (normal_log_density(z, mq, lq) - normal_log_density(z, 0 * mq, 0 * lq)).mean(0)
    torch.testing.assert_close(kl_standard_normal(mq, lq), mc0, rtol=0.03, atol=0.03)


def test_seed_formula_for_kl_to_standard_normal():
    # the same KL written another way (Kingma & Welling 2013, appendix B): ½(‖μ‖² + ‖σ‖²) − Σ log σ − L/2
    mu, log_var = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    sigma = (0.5 * log_var).exp()
    seed = 0.5 * (mu.square().sum(-1) + sigma.square().sum(-1)) - sigma.log().sum(-1) - 5 / 2
    torch.testing.assert_close(kl_standard_normal(mu, log_var), seed)
