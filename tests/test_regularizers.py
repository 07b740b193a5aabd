"""Regularizers and corruptions: each penalty against an independent computation,
and their measurable effect through the public API."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, train_test_split

from skae import AutoEncoder, plugins
from skae.regularizers import PenaltyContext
from skae.testing import check_regularizer

FAST = dict(hidden_dims=(16,), max_epochs=3, random_state=0)
FAST_1L = dict(max_epochs=3, random_state=0)


def _fitted(small_X, **kw):
    return AutoEncoder(latent_dim=3, **{**FAST, **kw}).fit(small_X)


def _ctx(est, X):
    module = est.module_
    x = torch.as_tensor(est.scaler_.transform(X), dtype=torch.float32)
    return PenaltyContext(module, x, module.encode(x), lambda xx, cc: module.encode(xx, cc))


@pytest.mark.parametrize("name", ["l1", "l2", "l1_activity", "lp_activity", "contractive", "topk"])
def test_builtin_regularizers_pass_the_plugin_contract(name):
    check_regularizer(name, **({"k": 2} if name == "topk" else {}))


def test_weight_penalties_match_direct_sums(small_X):
    est = _fitted(small_X)
    ctx = _ctx(est, small_X)
    params = [p for part in (est.module_.encoder, est.module_.decoder) for n, p in part.named_parameters()]
    weights = [p for part in (est.module_.encoder, est.module_.decoder) for n, p in part.named_parameters() if "weight" in n]
    L1, L2 = (plugins.get("regularizer", n).factory for n in ("l1", "l2"))
    torch.testing.assert_close(L1().penalty(ctx), sum(w.abs().sum() for w in weights))
    torch.testing.assert_close(L2().penalty(ctx), 0.5 * sum((w**2).sum() for w in weights))
    torch.testing.assert_close(L2(include_bias=True).penalty(ctx), 0.5 * sum((p**2).sum() for p in params))


def test_lp_activity_matches_the_formula(small_X):
    est = _fitted(small_X)
    ctx = _ctx(est, small_X)
    z = ctx.codes.detach().numpy()
    Lp = plugins.get("regularizer", "lp_activity").factory
    np.testing.assert_allclose(float(Lp(p=3).penalty(ctx).detach()), np.mean(np.sum(np.abs(z) ** 3, axis=1)), rtol=1e-5)


def test_contractive_matches_autograd_jacobian(small_X):
    est = _fitted(small_X, regularizers=["contractive"])
    ctx = _ctx(est, small_X[:20])
    encoder = est.module_.encode
    expected = sum(
        torch.autograd.functional.jacobian(lambda v: encoder(v[None])[0], x).square().sum() for x in ctx.inputs
    ) / len(ctx.inputs)
    got = plugins.get("regularizer", "contractive").factory(method="exact").penalty(ctx)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    got.backward()  # differentiable w.r.t. the encoder's parameters
    assert est.module_.encoder.net[0].weight.grad is not None


@pytest.mark.parametrize("make", [
    lambda X: AutoEncoder(latent_dim=3, hidden_dims=(), latent_activation="sigmoid", **FAST_1L).fit(X),
    lambda X: AutoEncoder(latent_dim=3, hidden_dims=(), latent_activation="tanh", **FAST_1L).fit(X),
    lambda X: AutoEncoder(latent_dim=3, hidden_dims=(), **FAST_1L).fit(X),
    lambda X: __import__("skae").VAE(latent_dim=3, hidden_dims=(), **FAST_1L).fit(X),
], ids=["sigmoid", "tanh", "linear", "VAE"])
def test_contractive_closed_form_for_one_layer_encoders_matches_the_jacobian(make, small_X):
    est = make(small_X)
    module = est.module_
    x = torch.as_tensor(est.scaler_.transform(small_X[:30]), dtype=torch.float32)

    def encode(xx, cc):
        return module.encode(xx, cc)[:, :3]  # a VAE's codes: the posterior mean

    ctx = PenaltyContext(module, x, encode(x, None), encode)
    Contractive = plugins.get("regularizer", "contractive").factory
    closed = Contractive(method="closed_form").penalty(ctx)
    torch.testing.assert_close(closed, Contractive(method="exact").penalty(ctx), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(Contractive().penalty(ctx), closed)  # "auto" takes the closed form here
    closed.backward()
    assert module.encoder.net[0].weight.grad is not None


def test_contractive_projection_estimate_is_unbiased(small_X):
    est = _fitted(small_X)  # a two-layer encoder: "auto" estimates
    ctx = _ctx(est, small_X[:40])
    Contractive = plugins.get("regularizer", "contractive").factory
    exact = float(Contractive(method="exact").penalty(ctx).detach())
    torch.manual_seed(0)
    draws = np.array([float(Contractive(method="projection").penalty(ctx).detach()) for _ in range(3000)])
    assert abs(draws.mean() - exact) < 4 * draws.std() / np.sqrt(len(draws)), (draws.mean(), exact)
    four = np.array([float(Contractive(method="projection", n_projections=4).penalty(ctx).detach()) for _ in range(500)])
    assert four.std() < 0.6 * draws.std()  # more projections, less noise


def test_kl_sparsity_matches_numpy_and_requires_sigmoid_codes(small_X):
    with pytest.raises(ValueError, match="latent_activation='sigmoid'"):
        _fitted(small_X, regularizers=["kl_sparsity"])
    est = _fitted(small_X, regularizers=["kl_sparsity"], latent_activation="sigmoid")
    ctx = _ctx(est, small_X)
    rho_hat = ctx.codes.detach().numpy().astype(np.float64).mean(0)
    rho = 0.1
    expected = np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    got = plugins.get("regularizer", "kl_sparsity").factory(rho=rho).penalty(ctx)
    np.testing.assert_allclose(float(got.detach()), expected, rtol=1e-4)


def test_topk_keeps_exactly_k_nonzeros(small_X):
    est = AutoEncoder(latent_dim=5, regularizers=["topk"], regularizers__topk__k=2, **FAST).fit(small_X)
    Z = est.transform(small_X)
    assert ((Z != 0).sum(axis=1) == 2).all()
    with pytest.raises(ValueError, match=r"k must be an int in \[1, latent_dim=5\]"):
        AutoEncoder(latent_dim=5, regularizers=["topk"], regularizers__topk__k=6, **FAST).fit(small_X)


def test_sparse_codes_are_sparser_than_plain(digits):
    X, _ = digits
    kw = dict(latent_dim=32, max_epochs=40, random_state=0)
    plain = AutoEncoder(**kw).fit(X).transform(X)
    sparse = AutoEncoder(regularizers={"l1_activity": 0.1}, **kw).fit(X).transform(X)

    def frac_small(Z):  # share of codes within 1% of the code scale
        return np.mean(np.abs(Z) < 0.01 * np.abs(Z).max())

    assert frac_small(sparse) > max(0.15, 4 * frac_small(plain)), (frac_small(sparse), frac_small(plain))


def test_denoising_beats_plain_on_masked_digits(digits):
    X, _ = digits
    Xtr, Xte = train_test_split(X, test_size=0.3, random_state=0)
    rng = np.random.RandomState(0)
    Xmasked = np.where(rng.rand(*Xte.shape) < 0.3, 0.0, Xte)
    kw = dict(latent_dim=16, max_epochs=60, random_state=0)
    plain = AutoEncoder(**kw).fit(Xtr)
    dae = AutoEncoder(corruption="masking", corruption__p_min=0.1, corruption__p_max=0.5, **kw).fit(Xtr)
    err_plain = np.mean((plain.denoise(Xmasked) - Xte) ** 2)
    err_dae = np.mean((dae.denoise(Xmasked) - Xte) ** 2)
    assert err_dae < 0.8 * err_plain, (err_dae, err_plain)


def test_corruptions_follow_the_seed(small_X):
    torch.manual_seed(0)
    x = torch.rand(2000, 6)
    for name, kw in [("masking", {"p_min": 0.2}), ("salt_and_pepper", {"p_min": 0.2, "p_max": 0.2})]:
        c = plugins.get("corruption", name).factory(**kw)
        c.prepare(x, torch.zeros(6))
        changed = (c(x) != x).float().mean().item()
        assert abs(changed - 0.2) < 0.02, (name, changed)
    sp = plugins.get("corruption", "salt_and_pepper").factory(p_min=1.0)
    sp.prepare(x, torch.zeros(6))
    out = sp(x)
    assert torch.all((out == x.min(0).values) | (out == x.max(0).values))
    g = plugins.get("corruption", "gaussian").factory(sigma=0.5)
    assert abs((g(x) - x).std().item() - 0.5) < 0.02


def test_corruption_only_in_training(small_X):
    dae = _fitted(small_X, corruption="gaussian", corruption__sigma=5.0)
    np.testing.assert_array_equal(dae.transform(small_X), dae.transform(small_X))


def test_grid_search_over_weights_and_over_which_regularizers(small_X):
    grid = GridSearchCV(
        AutoEncoder(latent_dim=2, regularizers=["l2"], **FAST),
        [{"regularizers__l2__weight": [1e-4, 1e-1]}],
        cv=2,
    ).fit(small_X)
    assert set(grid.cv_results_["param_regularizers__l2__weight"]) == {1e-4, 1e-1}
    grid = GridSearchCV(
        AutoEncoder(latent_dim=2, **FAST),
        {"regularizers": [None, ["l1_activity"], ["l1_activity", "contractive"]]},
        cv=2,
    ).fit(small_X)
    assert len(grid.cv_results_["params"]) == 3


def test_typos_fail_at_fit_listing_names(small_X):
    with pytest.raises(ValueError, match="Unknown regularizer 'contractiv'.*Available regularizers:"):
        AutoEncoder(regularizers=["contractiv"], **FAST).fit(small_X)
    with pytest.raises(ValueError, match="Unknown corruption 'mask'.*Available corruptions:"):
        AutoEncoder(corruption="mask", **FAST).fit(small_X)
    with pytest.raises(TypeError, match="regularizers__l2__"):
        AutoEncoder(regularizers=["l2"], regularizers__l2__wieght=1.0, **FAST).fit(small_X)
    with pytest.raises(ValueError, match="not in regularizers"):
        AutoEncoder(regularizers=["l2"], regularizers__l1__weight=1.0, **FAST).fit(small_X)
