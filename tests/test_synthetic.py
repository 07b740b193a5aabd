"""Synthetic tables: sampled rows keep the table's kinds, dtypes and ranges; conditional and given sampling."""

import numpy as np
import pandas as pd
import pytest

import skae
from skae import VAE, AutoEncoder, ConditionalVAE
from skae.tabular import QuantileMap

FAST = dict(latent_dim=2, hidden_dims=(32,), max_epochs=30, random_state=0)


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    n = 400
    kind = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({
        "kind": pd.Categorical(kind, categories=["a", "b", "c", "d"], ordered=True),
        "size": np.where(kind == "a", 10.0, 30.0) + rng.gamma(2.0, 2.0, n),  # skewed, kind-dependent
        "count": rng.poisson(3, n).astype(np.int16),  # small integers with a spike at 0
        "flag": rng.uniform(size=n) < 0.3,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.randint(0, 365, n), unit="D"),
    })


def test_sampled_rows_keep_kinds_dtypes_categories_ranges_and_integers(table):
    vae = VAE(**FAST).fit(table)
    rows = vae.sample(1000, random_state=0)
    assert list(rows.columns) == list(table.columns) and list(rows.dtypes) == list(table.dtypes)
    assert rows["kind"].dtype == table["kind"].dtype  # all four categories, ordered
    for column in ("size", "count", "when"):
        assert rows[column].min() >= table[column].min() and rows[column].max() <= table[column].max(), column
    assert set(rows["count"]) <= set(table["count"])  # a discrete column draws values it had
    assert abs(rows["flag"].mean() - table["flag"].mean()) < 0.1
    assert abs(rows["size"].skew() - table["size"].skew()) < 1.0  # the column's shape, not a Gaussian's


def test_sampling_draws_by_default_for_tables_and_reproduces_with_a_seed(table):
    vae = VAE(**FAST).fit(table)
    pd.testing.assert_frame_equal(vae.sample(50, random_state=3), vae.sample(50, random_state=3))
    drawn, means = vae.sample(500, random_state=0), vae.sample(500, random_state=0, draw=False)
    assert drawn["size"].std() > means["size"].std()  # draws carry p(x | z)'s spread
    X = table[["size"]].to_numpy()
    array_model = VAE(**FAST).fit(X)
    np.testing.assert_array_equal(array_model.sample(5, random_state=0), array_model.sample(5, random_state=0,
                                                                                            draw=False))


def test_given_values_are_held_and_the_rest_follows_them(table):
    vae = VAE(**FAST).fit(table)
    rows = vae.sample(300, random_state=0, given={"kind": "a"})
    assert (rows["kind"] == "a").all()
    real = table[table["kind"] == "a"]["size"].mean(), table[table["kind"] != "a"]["size"].mean()
    assert abs(rows["size"].mean() - real[0]) < abs(rows["size"].mean() - real[1])
    per_row = vae.sample(3, random_state=0, given=pd.DataFrame({"kind": ["a", "b", "c"], "flag": [True] * 3}))
    assert list(per_row["kind"]) == ["a", "b", "c"] and per_row["flag"].all()
    with pytest.raises(ValueError, match=r"given names columns \['colour'\]"):
        vae.sample(3, given={"colour": "red"})
    with pytest.raises(ValueError, match="categories not seen in fit: 'z'"):
        vae.sample(3, given={"kind": "z"})
    ae = AutoEncoder(**FAST).fit(table)
    assert (ae.sample(20, random_state=0, given={"kind": "b"})["kind"] == "b").all()


def test_a_conditional_vae_samples_rows_with_the_asked_values(table):
    cvae = ConditionalVAE(**FAST).fit(table.drop(columns=["kind"]), table[["kind"]])
    rows = cvae.sample(200, random_state=0, y=pd.DataFrame({"kind": ["c"]}))
    assert list(rows.columns) == ["size", "count", "flag", "when"]
    assert rows["size"].mean() > table["size"].mean()  # kind c is large


def test_quantile_maps_round_trip_and_keep_extremes_extreme():
    rng = np.random.RandomState(0)
    continuous, discrete = rng.lognormal(size=2000), rng.poisson(2, size=2000).astype(float)
    for x in (continuous, discrete):
        qmap = QuantileMap.fit(x)
        z = qmap.encode(x)
        assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.15
        np.testing.assert_allclose(qmap.decode(z), x, rtol=1e-6 if not qmap.discrete else 0)
    qmap = QuantileMap.fit(continuous)
    assert qmap.encode(np.array([100.0]))[0] > qmap.encode(np.array([continuous.max()]))[0]
    assert qmap.decode(np.array([10.0]))[0] == continuous.max()


def test_a_quantile_model_round_trips_through_a_model_file(table, tmp_path):
    vae = VAE(**FAST).fit(table)
    skae.save(vae, tmp_path / "v.skae")
    pd.testing.assert_frame_equal(skae.load(tmp_path / "v.skae").sample(20, random_state=1), vae.sample(20, random_state=1))
    with pytest.raises(ValueError, match="scaling='quantile' maps the numeric columns of a DataFrame"):
        AutoEncoder(scaling="quantile", **FAST).fit(table[["size"]].to_numpy())
    numeric = AutoEncoder(scaling="quantile", **FAST).fit(table[["size", "count"]])
    assert list(numeric.reconstruct(table[["size", "count"]]).columns) == ["size", "count"]


@pytest.mark.parametrize("make", [VAE, AutoEncoder])
def test_drawn_rows_keep_the_correlation_of_what_the_code_does_not_explain(make):
    # two tight pairs of columns and a one-dimensional code: the code can carry one pair's common part, and
    # the other pair's lives in the reconstruction errors, which independent noise per column would decouple
    rng = np.random.RandomState(0)
    n = 1500
    a, b = rng.normal(size=n), rng.normal(size=n)
    df = pd.DataFrame({"a1": a + 0.1 * rng.normal(size=n), "a2": a + 0.1 * rng.normal(size=n),
                       "b1": b + 0.1 * rng.normal(size=n), "b2": b + 0.1 * rng.normal(size=n),
                       "kind": rng.choice(list("xy"), n)})
    model = make(latent_dim=1, hidden_dims=(16,), max_epochs=40, random_state=0).fit(df)
    correlation = model.model_.residual_correlation
    np.testing.assert_allclose(correlation, correlation.T)
    np.testing.assert_allclose(np.diag(correlation), 1.0)
    rows = model.sample(3000, random_state=0)
    for first, second in (("a1", "a2"), ("b1", "b2")):
        real = np.corrcoef(df[first], df[second])[0, 1]
        assert np.corrcoef(rows[first], rows[second])[0, 1] > real - 0.15, (first, second)


def test_error_correlation_is_a_positive_definite_correlation_with_holes_and_constant_slots():
    from skae.model._residuals import error_correlation

    rng = np.random.RandomState(0)
    shared = rng.normal(size=500)
    errors = np.c_[shared, shared + 0.01 * rng.normal(size=500), rng.normal(size=500), np.zeros(500)]
    errors[rng.uniform(size=errors.shape) < 0.2] = np.nan
    correlation = error_correlation(errors)
    np.linalg.cholesky(correlation)  # drawable
    np.testing.assert_allclose(np.diag(correlation), 1.0)
    assert correlation[0, 1] > 0.99  # pairs over the rows where both are observed
    assert abs(correlation[0, 2]) < 0.15
    np.testing.assert_allclose(correlation[3, :3], 0.0, atol=1e-9)  # a slot that never varies: uncorrelated
