"""AutoEncoderImputer's self-check: observed entries hidden at fit decide, per column, between the model and a simple fill."""

import warnings

import numpy as np
import pandas as pd
import pytest

import skae
from skae import AutoEncoder, AutoEncoderImputer

N = 400
FAST = dict(latent_dim=4, hidden_dims=(32,), max_epochs=30, corruption="missing", random_state=0)


class OffOnNoise(AutoEncoder):
    """A model that fills the column "noise" far from its values (3 SDs above its mean) in ``reconstruct``.

    Pure noise independent of the other columns is what a model can fill no
    better than the mean; this one fills it worse, and records what the check
    showed it, so that the test can recompute the errors.
    """

    def reconstruct(self, X, y=None, **kwargs):
        out = super().reconstruct(X, y, **kwargs)
        out["noise"] = OFFSET
        self.__dict__.setdefault("seen", []).append((X.copy(), out.copy()))
        return out


OFFSET = 3.0


def related_and_noise(n=N, seed=0, rate=0.2):
    rng = np.random.RandomState(seed)
    z = rng.normal(size=n)
    table = pd.DataFrame({"a": z, "b": z + 0.1 * rng.normal(size=n), "c": -z + 0.1 * rng.normal(size=n),
                          "noise": rng.normal(size=n)})
    return table.mask(rng.uniform(size=table.shape) < rate)


def fit_quietly(imputer, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer.fit(X)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "fill_check_" in str(w.message)]


@pytest.fixture(scope="module")
def off_on_noise():
    X = related_and_noise()
    imputer = AutoEncoderImputer(OffOnNoise(**FAST), random_state=0)
    return X, imputer, fit_quietly(imputer, X)


def test_a_column_the_model_fills_worse_than_its_mean_is_filled_with_it_and_named(off_on_noise):
    X, imputer, messages = off_on_noise
    check = imputer.fill_check_
    assert list(check.index) == list(X.columns)
    assert check.loc["noise", "fill"] == "simple" and (check.loc[["a", "b", "c"], "fill"] == "model").all()
    assert len(messages) == 1 and "'noise'" in messages[0] and "'a'" not in messages[0]
    filled = imputer.transform(X)
    holes = X["noise"].isna().to_numpy()
    observed = X["noise"].dropna()
    assert check.loc["noise", "simple"] == "mean"
    np.testing.assert_allclose(filled["noise"][holes], observed.mean())
    pd.testing.assert_series_equal(filled["noise"][~holes], X["noise"][~holes])


def test_the_related_columns_are_filled_by_the_model_well_below_the_simple_error(off_on_noise):
    X, imputer, _ = off_on_noise
    check = imputer.fill_check_
    assert (check.loc[["a", "b", "c"], "model_error"] < 0.6 * check.loc[["a", "b", "c"], "simple_error"]).all()
    filled = imputer.transform(X)
    holes = X["a"].isna().to_numpy()
    assert filled["a"][holes].std() > 0.5  # the model's values, not one constant


def test_the_reported_errors_match_an_independent_computation(off_on_noise):
    X, imputer, _ = off_on_noise
    ((shown, values),) = imputer.estimator_.seen  # the check's one call: the rows where entries were hidden
    hidden = shown.isna().to_numpy() & X.loc[shown.index].notna().to_numpy()
    check = imputer.fill_check_
    for j, column in enumerate(X.columns):
        truth = X.loc[shown.index, column].to_numpy()[hidden[:, j]]
        spread = X[column].std(ddof=0)
        rmse = np.sqrt(np.mean((values[column].to_numpy()[hidden[:, j]] - truth) ** 2)) / spread
        seen = X[column].dropna().drop(shown.index[hidden[:, j]])
        simple = np.sqrt(np.mean((seen.mean() - truth) ** 2))
        assert check.loc[column, "n_checked"] == hidden[:, j].sum() > 0
        np.testing.assert_allclose(check.loc[column, "model_error"], rmse, rtol=1e-6)
        np.testing.assert_allclose(check.loc[column, "simple_error"], simple / spread, rtol=1e-6)
    assert 0.08 < hidden.sum() / X.notna().to_numpy().sum() < 0.12  # a fold of about 10 %


def test_pure_noise_is_filled_about_as_well_as_by_its_mean_and_related_columns_far_better():
    X = related_and_noise(seed=1)
    imputer = AutoEncoderImputer(AutoEncoder(**FAST), n_estimators=2, random_state=0)
    fit_quietly(imputer, X)
    check = imputer.fill_check_
    assert (check.loc[["a", "b", "c"], "fill"] == "model").all()
    assert abs(check.loc["noise", "model_error"] - check.loc["noise", "simple_error"]) < 0.15
    assert (check.loc[["a", "b", "c"], "model_error"] < 0.6).all()


def test_a_category_and_an_integer_column_filled_the_simple_way_keep_their_dtypes():
    rng = np.random.RandomState(0)
    z = rng.normal(size=N)
    X = pd.DataFrame({"a": z, "b": z + 0.1 * rng.normal(size=N),
                      "count": pd.array(rng.poisson(3, size=N), dtype="Int64"),
                      "kind": pd.Categorical(rng.choice(["x", "y", "y", "y"], size=N))})
    X = X.mask(rng.uniform(size=X.shape) < 0.2)

    class Off(AutoEncoder):
        def reconstruct(self, X, y=None, **kwargs):
            out = super().reconstruct(X, y, **kwargs)
            out["count"], out["kind"] = 40, "x"
            return out

    imputer = AutoEncoderImputer(Off(**FAST), random_state=0)
    messages = fit_quietly(imputer, X)
    assert (imputer.fill_check_.loc[["count", "kind"], "fill"] == "simple").all(), imputer.fill_check_
    assert "'count'" in messages[0] and "'kind'" in messages[0]
    filled = imputer.transform(X)
    assert filled["count"].dtype == "Int64" and isinstance(filled["kind"].dtype, pd.CategoricalDtype)
    assert list(filled["kind"].cat.categories) == ["x", "y"]
    assert (filled["kind"][X["kind"].isna()] == "y").all()
    count = X["count"].dropna().astype(float)
    assert (filled["count"][X["count"].isna()] == round(count.mean())).all()
    draws = imputer.set_params(sample_posterior=True).transform(X)
    drawn = draws["kind"][X["kind"].isna()]
    assert set(drawn) == {"x", "y"} and set(draws["count"][X["count"].isna()]) <= set(X["count"].dropna())
    pd.testing.assert_series_equal(draws["count"][X["count"].notna()], X["count"][X["count"].notna()])


def test_the_check_and_its_simple_fills_survive_a_model_file(tmp_path, off_on_noise):
    X, _, _ = off_on_noise
    imputer = AutoEncoderImputer(AutoEncoder(**FAST), random_state=0)
    fit_quietly(imputer, X)
    # a plain model fills no column the simple way here: mark one as if it had, through the file's state
    state = imputer.get_fitted_state()
    state["fill_check"]["fill"][3] = "simple"
    state["fill_check"]["fills"] = [[3, 0.25, [0.25, 1.0], [3, 1]]]
    marked = AutoEncoderImputer.from_fitted_state(state)
    skae.save(marked, tmp_path / "imputer.skae")
    loaded = skae.load(tmp_path / "imputer.skae")
    pd.testing.assert_frame_equal(loaded.fill_check_, marked.fill_check_)
    filled = loaded.transform(X)
    assert (filled["noise"][X["noise"].isna()] == 0.25).all()
    pd.testing.assert_frame_equal(filled, marked.transform(X))
    drawn = loaded.set_params(sample_posterior=True, random_state=1).transform(X)["noise"][X["noise"].isna()]
    assert set(drawn) == {0.25, 1.0}


def test_a_state_written_before_the_check_loads_with_the_model_filling_every_column(off_on_noise):
    X, _, _ = off_on_noise
    imputer = AutoEncoderImputer(AutoEncoder(**FAST), check_fills=False, random_state=0)
    assert fit_quietly(imputer, X) == [] and imputer.fill_check_ is None
    state = AutoEncoderImputer(AutoEncoder(**FAST), random_state=0).fit(X).get_fitted_state()
    del state["fill_check"]
    old = AutoEncoderImputer.from_fitted_state(state)
    assert old.fill_check_ is None
    assert not old.transform(X).isna().any().any()


def test_a_fit_with_the_check_repeats_with_its_random_state():
    X = related_and_noise(n=120)
    first = AutoEncoderImputer(AutoEncoder(**FAST), random_state=0)
    second = AutoEncoderImputer(AutoEncoder(**FAST), random_state=0)
    fit_quietly(first, X), fit_quietly(second, X)
    pd.testing.assert_frame_equal(first.fill_check_, second.fill_check_)
    pd.testing.assert_frame_equal(first.transform(X), second.transform(X))


@pytest.mark.parametrize("fills", [
    [[3, {"rm": "-rf"}, [0.25], [1]]],  # a structure where a value goes
    [[3, 0.25, [0.25, float("nan")], [3, 1]]],  # a missing value among the draws
    [[3, 0.25, [0.25, 1.0], [3, 0]]],  # a value that can never be drawn
    [[3, 0.25, [0.25], [True]]],  # a count that is not a number of rows
], ids=["structure", "nan", "zero count", "bool count"])
def test_a_model_file_with_malformed_simple_fills_is_refused(off_on_noise, fills):
    X, _, _ = off_on_noise
    state = AutoEncoderImputer(AutoEncoder(**{**FAST, "max_epochs": 2}), random_state=0).fit(X).get_fitted_state()
    state["fill_check"]["fills"] = fills
    with pytest.raises(ValueError, match="simple fills are not plain values with positive counts"):
        AutoEncoderImputer.from_fitted_state(state)
