"""The likelihood table: one list of the names estimators accept, and what each likelihood decides itself."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.utils._param_validation import InvalidParameterError

from skae import VAE, AutoEncoder
from skae.likelihoods import LIKELIHOODS, CrossEntropy, MixedColumns, SquaredError, likelihood_for
from skae.tabular import ColumnLayout


def test_the_parameters_accept_exactly_the_names_of_the_table():
    for cls, parameter in [(AutoEncoder, "loss"), (VAE, "likelihood")]:
        (options,) = cls._parameter_constraints[parameter]
        assert options.options == {n for n, k in LIKELIHOODS.items() if k.parameter == parameter}
    with pytest.raises(InvalidParameterError, match="loss"):
        AutoEncoder(loss="gaussian").fit(np.zeros((4, 2)))


def test_each_name_builds_the_likelihood_the_table_names():
    for name, kind in LIKELIHOODS.items():
        likelihood = likelihood_for(name)
        assert type(likelihood) is kind.make and likelihood.name == name
    assert likelihood_for("bce").unit_interval and not likelihood_for("mse").unit_interval
    assert likelihood_for("gaussian").learned_scale and not likelihood_for("bernoulli").learned_scale


def test_a_table_refuses_a_likelihood_its_numeric_columns_cannot_use():
    frame = pd.DataFrame({"x": [0.1, 0.5, 0.9, 0.3], "c": ["a", "b", "a", "b"]})
    layout = ColumnLayout.from_frame(frame)
    for name in ("bce", "bernoulli"):
        with pytest.raises(ValueError, match="categorical or boolean columns"):
            likelihood_for(name, layout)
    assert isinstance(likelihood_for("gaussian", layout), MixedColumns)
    with pytest.raises(ValueError, match="cannot use the likelihood 'laplace'"):
        MixedColumns(["numeric", "categorical"], [(0, 1), (1, 3)], "laplace")  # never trained as squared error


def test_the_draw_spread_is_the_likelihoods_own_statistic(monkeypatch):
    X = load_wine().data
    rms = AutoEncoder(max_epochs=3, random_state=0).fit(X)
    # a likelihood whose draws are scaled by the mean absolute error (a Laplace-like spread)
    monkeypatch.setattr(SquaredError, "residual_terms", lambda self, errors: np.abs(errors, out=errors))
    monkeypatch.setattr(SquaredError, "residual_scale", lambda self, mean: mean)
    mae = AutoEncoder(max_epochs=3, random_state=0).fit(X)
    errors = mae.model_.scaler.transform(X) - mae.model_.scaler.transform(mae.inverse_transform(mae.transform(X)))
    # inverse_transform keeps decoded values within the training range, the fit's statistic does not: a few
    # rows of one column differ by about 0.1 %
    np.testing.assert_allclose(mae.model_.residual_scale, np.abs(errors).mean(0), rtol=5e-3)
    np.testing.assert_allclose(rms.model_.residual_scale, np.sqrt(np.square(errors).mean(0)), rtol=5e-3)
    assert np.all(mae.model_.residual_scale < 0.95 * rms.model_.residual_scale)


def test_cross_entropy_draws_ignore_the_spread():
    rng = np.random.RandomState(0)
    draws = CrossEntropy().draw(np.full((1000, 2), 0.3), rng, sigma=None, scale=np.ones(2))
    assert set(np.unique(draws)) <= {0.0, 1.0} and abs(draws.mean() - 0.3) < 0.05
