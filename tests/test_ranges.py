"""What a model returns stays within what the data support: the range each column had at fit.

A row with one extreme entry must not drive the other columns' values out of the data (issue: imputed
bounded columns at 160-212 SDs on a table with a few rows at 40 SDs), for every estimator that returns
values in X's units.
"""

import numpy as np
import pandas as pd
import pytest

import skae
from skae import VAE, AutoEncoder, AutoEncoderImputer, AutoEncoderOutlierDetector

TINY = dict(hidden_dims=(16,), latent_dim=3, max_epochs=15, random_state=0)


def heavy_tailed_table(n=400, seed=0):
    """Six bounded columns in [-1, 1] beside three lognormal ones with a few rows far out (30-45 SDs)."""
    rng = np.random.RandomState(seed)
    z = rng.normal(size=(n, 3))
    bounded = np.tanh(z @ rng.normal(size=(3, 6)))
    heavy = np.exp(1.5 * (z @ rng.normal(size=(3, 3))))
    X = np.hstack([bounded, heavy])
    X = (X - X.mean(0)) / X.std(0)
    far = rng.choice(n, 8, replace=False)
    X[far, 6 + rng.randint(3, size=8)] = rng.uniform(30, 45, size=8)
    return X


def within(values, low, high):
    return bool(((values >= low - 1e-9) & (values <= high + 1e-9)).all())


def test_imputed_numbers_stay_within_each_columns_observed_range():
    X = heavy_tailed_table()
    rng = np.random.RandomState(1)
    holes = rng.uniform(size=X.shape) < 0.2
    train, test = np.where(holes, np.nan, X)[:300], np.where(holes, np.nan, X)[300:].copy()
    test[::10, 6] = 80.0  # beyond every training value, with other entries of the row missing
    test[::10, :3] = np.nan
    imputer = AutoEncoderImputer(AutoEncoder(**TINY, corruption="missing"), random_state=0).fit(train)
    low, high = np.nanmin(train, 0), np.nanmax(train, 0)
    for part in (train, test):
        filled = imputer.transform(part)
        holes_here = np.isnan(part)
        for j in range(X.shape[1]):
            assert within(filled[holes_here[:, j], j], low[j], high[j]), j
        np.testing.assert_array_equal(filled[~holes_here], part[~holes_here])  # observed entries untouched


def test_posterior_draws_of_the_imputer_stay_within_the_observed_range():
    X = heavy_tailed_table()
    holes = np.random.RandomState(2).uniform(size=X.shape) < 0.2
    part = np.where(holes, np.nan, X)
    imputer = AutoEncoderImputer(AutoEncoder(**TINY), sample_posterior=True, random_state=0).fit(part)
    filled = imputer.transform(part)
    assert within(filled, np.nanmin(part, 0), np.nanmax(part, 0))


def test_an_extreme_entry_moves_no_other_column_of_the_reconstruction_out_of_range():
    X = heavy_tailed_table()
    ae = AutoEncoder(**TINY).fit(X)
    rows = X[:20].copy()
    rows[:, 6] = np.linspace(50, 1e6, 20)  # ever further beyond the training range
    out = ae.reconstruct(rows)
    assert within(out, X.min(0), X.max(0))
    # the extreme entry is clamped where the encoder reads it, so the code stays that of a row at the edge
    edge = rows.copy()
    edge[:, 6] = X[:, 6].max()
    np.testing.assert_allclose(ae.transform(rows), ae.transform(edge), rtol=1e-6, atol=1e-6)
    # while the score still sees how far out the row is: further out, lower (less normal)
    scores = ae.score_samples(rows)
    assert np.all(np.isfinite(scores)) and np.all(np.diff(scores) < 0)


def test_score_is_minus_the_error_of_what_reconstruct_returns():
    X = heavy_tailed_table()
    ae = AutoEncoder(**TINY).fit(X[:300])
    test = X[300:] * 1.5  # partly outside the training range
    np.testing.assert_allclose(ae.score_samples(test), -np.mean((ae.reconstruct(test) - test) ** 2, axis=1),
                               rtol=1e-5)


def test_vae_samples_and_decoded_codes_stay_within_the_training_range():
    X = np.random.RandomState(0).uniform(size=(300, 5))
    vae = VAE(**TINY).fit(X)
    for values in (vae.sample(500, random_state=0), vae.inverse_transform(np.full((3, 3), 25.0)),
                   vae.sample(200, random_state=0, draw=True)):
        assert within(values, X.min(0), X.max(0))


def test_a_table_row_with_an_extreme_number_decodes_to_valid_datetimes_and_numbers():
    rng = np.random.RandomState(0)
    n = 200
    for unit in ("us", "ns"):
        frame = pd.DataFrame({
            "a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n),
            "t": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.randint(0, 1000, n), unit="D")).astype(
                f"datetime64[{unit}]"),
        })
        ae = AutoEncoder(**TINY).fit(frame)
        rows = frame.iloc[:3].copy()
        rows["a"] = [1e9, -1e12, 0.0]
        out = ae.reconstruct(rows)
        assert out["t"].notna().all()
        assert out["t"].between(frame["t"].min(), frame["t"].max()).all()
        assert out["b"].between(frame["b"].min(), frame["b"].max()).all()


def test_the_detector_still_ranks_rows_beyond_the_training_range_as_more_anomalous():
    X = heavy_tailed_table()[:, :6]
    detector = AutoEncoderOutlierDetector(AutoEncoder(**TINY), random_state=0).fit(X)
    rows = np.repeat(X[:1], 4, axis=0)
    rows[:, 0] = [X[:, 0].max(), 3.0, 30.0, 300.0]
    scores = detector.anomaly_score(rows)
    assert np.all(np.diff(scores) > 0)


def test_a_model_file_keeps_the_training_range(tmp_path):
    X = heavy_tailed_table()
    ae = AutoEncoder(**TINY).fit(X)
    skae.save(ae, tmp_path / "ae.skae")
    loaded = skae.load(tmp_path / "ae.skae")
    rows = X[:5] * 100
    np.testing.assert_array_equal(loaded.reconstruct(rows), ae.reconstruct(rows))
    assert within(loaded.reconstruct(rows), X.min(0), X.max(0))


@pytest.mark.parametrize("low,high", [(0.01, 1.0)])
def test_imputer_fills_of_a_bounded_column_beside_heavy_tails_stay_in_its_range(low, high):
    # the reliability page's example: a column observed in [0.01, 1.00] was filled with -1.35
    rng = np.random.RandomState(3)
    n = 300
    share = rng.uniform(low, high, size=n)
    heavy = np.exp(rng.normal(size=n) * 2) * (1 + share)
    heavy[:4] *= 200
    X = np.column_stack([share, heavy, share * 2 + rng.normal(size=n) * 0.1])
    X[rng.uniform(size=X.shape) < 0.25] = np.nan
    filled = AutoEncoderImputer(AutoEncoder(**TINY), random_state=0).fit_transform(X)
    assert within(filled[:, 0], np.nanmin(X[:, 0]), np.nanmax(X[:, 0]))
