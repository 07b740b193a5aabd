"""ConditionalVAE: conditioning plugins, conditional prior, conditions of every kind."""

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skae import ConditionalVAE
from skae.losses import normal_log_density
from skae.model._elbo import kl_term, posterior_params, prior_params
from skae.testing import check_conditioner

METHODS = ["concat", "embedding", "film", "cross_attention"]
FAST = dict(latent_dim=3, hidden_dims=(16,), max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def unit_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.mark.parametrize("method", METHODS)
def test_conditioner_layers_contract(method):
    check_conditioner(method)


@pytest.mark.parametrize("method", METHODS)
def test_decoder_uses_the_condition_and_gradients_flow(method, unit_digits):
    X, y = unit_digits
    cvae = ConditionalVAE(conditioning=method, conditional_prior=True, **FAST).fit(X[:300], y[:300])
    Z = np.zeros((4, 3))
    assert not np.allclose(cvae.inverse_transform(Z, y=0), cvae.inverse_transform(Z, y=1))
    module = cvae.module_
    x = torch.as_tensor(cvae.scaler_.transform(X[:8]), dtype=torch.float32)
    c = torch.as_tensor(cvae.condition_encoder_.transform(y[:8], 8), dtype=torch.float32)
    loss = cvae.net_.criterion_(module, (x, c), training=True)
    loss.backward()
    missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing


def test_samples_are_class_consistent(unit_digits):
    X, y = unit_digits
    clf = LogisticRegression(max_iter=2000).fit(X, y)
    cvae = ConditionalVAE(latent_dim=8, likelihood="bernoulli", max_epochs=60, random_state=0).fit(X, y)
    rates = [np.mean(clf.predict(cvae.sample(30, y=k, random_state=k)) == k) for k in range(10)]
    assert np.mean(rates) >= 0.9, rates
    per_sample = cvae.sample(10, y=np.arange(10), random_state=0)
    assert per_sample.shape == (10, 64)


def test_conditional_prior_kl_matches_monte_carlo(unit_digits):
    X, y = unit_digits
    cvae = ConditionalVAE(conditional_prior=True, **FAST).fit(X[:200], y[:200])
    module = cvae.module_
    x = torch.as_tensor(cvae.scaler_.transform(X[:6]), dtype=torch.float32)
    c = torch.as_tensor(cvae.condition_encoder_.transform(y[:6], 6), dtype=torch.float32)
    with torch.no_grad():
        mean, log_var = posterior_params(module, x, c)
        pm, plv = prior_params(module, c, mean)
        assert not torch.allclose(pm, torch.zeros_like(pm))  # a learned p(z|y), not N(0, I)
        z = mean + torch.exp(0.5 * log_var) * torch.randn(200_000, *mean.shape)
        mc = (normal_log_density(z, mean, log_var) - normal_log_density(z, pm, plv)).mean(0)
        torch.testing.assert_close(kl_term(module, mean, log_var, c), mc, rtol=0.02, atol=0.02)


def test_string_continuous_and_mixed_conditions(unit_digits):
    X, y = unit_digits
    X, y = X[:200], y[:200]
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    cvae = ConditionalVAE(**FAST).fit(X, names)
    assert set(cvae.classes_) == set(names)
    assert cvae.transform(X[:5], names[:5]).shape == (5, 3)
    with pytest.raises(ValueError, match="Unseen condition value.*eleven"):
        cvae.transform(X[:1], ["eleven"])
    with pytest.raises(ValueError, match="needs the condition y"):
        cvae.transform(X[:5])
    cont = ConditionalVAE(**FAST).fit(X, X[:, :3].sum(1))  # a float condition: standardised
    assert cont.classes_ is None and cont.n_condition_features_ == 1
    mixed = pd.DataFrame({"digit": names, "ink": X.sum(1)})
    m = ConditionalVAE(**FAST).fit(X, mixed)
    assert m.n_condition_features_ == 11
    assert m.sample(2, y=mixed.iloc[:1], random_state=0).shape == (2, 64)
    with pytest.raises(ValueError, match="has 200 samples but the condition y has 3"):
        ConditionalVAE(**FAST).fit(X, y[:3])


def test_pipeline_grid_search_and_metadata_routing(unit_digits):
    X, y = unit_digits
    X, y = X[:200], y[:200]
    search = GridSearchCV(ConditionalVAE(**FAST), {"conditioning": ["concat", "film"]}, cv=2).fit(X, y)
    assert search.best_params_["conditioning"] in ("concat", "film")
    with sklearn.config_context(enable_metadata_routing=True):
        cvae = ConditionalVAE(**FAST)
        cvae.set_transform_request(condition=True)
        pipe = make_pipeline(FunctionTransformer(), cvae).fit(X, y)
        Z = pipe.transform(X, condition=y)
    np.testing.assert_allclose(Z, pipe[-1].transform(X, y))


def test_contract_properties_with_the_condition(unit_digits):
    """What scikit-learn's checks test, but passing y (see test_sklearn_compat.py)."""
    import pickle

    X, y = unit_digits
    X, y = X[:120], y[:120]
    cvae = ConditionalVAE(**FAST).fit(X, y)
    Z = cvae.transform(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(cvae)).transform(X, y), Z)
    np.testing.assert_allclose(cvae.transform(X[10:30], y[10:30]), Z[10:30], rtol=1e-12)
    perm = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_allclose(cvae.score_samples(X[perm], y[perm]), cvae.score_samples(X, y)[perm], rtol=1e-12)
    np.testing.assert_array_equal(ConditionalVAE(**FAST).fit(X, y).transform(X, y), Z)
    assert cvae.transform(X.astype(np.float32), y).dtype == np.float32
