"""The default detector's input-space term: column tails beside the members, combined as p-values."""

import numpy as np
import pytest

import skae
from skae import AutoEncoder, AutoEncoderOutlierDetector
from skae.detection._tails import ColumnTails

FAST = dict(random_state=0)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(400, 2))
    X = np.c_[z @ rng.normal(size=(2, 5)), rng.normal(size=(400, 1))]  # five related columns, one on its own
    return X + 0.05 * rng.normal(size=X.shape)


def _tail_term(column, x):
    """Minus the log of the smaller share of training values at most / at least x (independent of skae)."""
    n = len(column)
    below = sum(v <= x for v in column) / n
    above = sum(v >= x for v in column) / n
    return -np.log(max(min(below, above), 1 / (n + 1)))


def test_column_tails_are_the_empirical_two_sided_tail_shares():
    rng = np.random.RandomState(1)
    X = np.c_[rng.normal(size=50), rng.randint(0, 3, size=50).astype(float)]
    tails = ColumnTails.fit(X)
    rows = np.array([[0.1, 1.0], [X[:, 0].min(), 0.0], [X[:, 0].max(), 2.0]])
    expected = [sum(_tail_term(X[:, j], r[j]) for j in range(2)) for r in rows]
    np.testing.assert_allclose(tails.raw(rows), expected, rtol=1e-12)


def test_beyond_the_training_range_the_term_keeps_growing():
    X = np.random.RandomState(2).normal(size=(100, 3))
    tails = ColumnTails.fit(X)
    rows = np.repeat(X[:1], 3, axis=0)
    rows[:, 1] = [X[:, 1].max(), 10.0, 1e6]
    raw = tails.raw(rows)
    assert raw[0] < raw[1] < raw[2] and np.isfinite(raw).all()


def test_missing_entries_are_skipped_and_the_rest_rescaled():
    X = np.random.RandomState(3).normal(size=(80, 4))
    tails = ColumnTails.fit(X)
    row = X[5:6].copy()
    full = tails.raw(row)[0]
    row[0, 3] = np.nan
    seen = sum(_tail_term(X[:, j], X[5, j]) for j in range(3))
    np.testing.assert_allclose(tails.raw(row)[0], seen * 4 / 3, rtol=1e-12)
    assert np.isfinite(full)


def test_a_global_outlier_the_members_reconstruct_scores_highest(data):
    det = AutoEncoderOutlierDetector(**FAST).fit(data)
    rows = data[:20].copy()
    rows[7, 5] = 6.0  # the column no other column predicts, far beyond the data (max ~3.3)
    scores = det.anomaly_score(rows)
    assert int(np.argmax(scores)) == 7
    assert det.predict(rows)[7] == -1


def test_tail_weight_zero_scores_as_the_members_alone(data):
    det = AutoEncoderOutlierDetector(tail_weight=0, **FAST).fit(data)
    np.testing.assert_array_equal(det.anomaly_score(data[:30]), det.member_scores(data[:30]).mean(axis=1))
    assert det.model_.tails is None


def test_a_detector_around_an_estimator_leaves_the_tails_out_unless_asked(data):
    est = AutoEncoder(hidden_dims=(8,), latent_dim=2, max_epochs=3, random_state=0)
    assert AutoEncoderOutlierDetector(est, **FAST).fit(data).model_.tails is None
    det = AutoEncoderOutlierDetector(est, tail_weight=1.0, **FAST).fit(data)
    assert det.model_.tails is not None and np.isfinite(det.anomaly_score(data[:10])).all()


def test_the_tails_travel_in_model_files(data, tmp_path):
    det = AutoEncoderOutlierDetector(**FAST).fit(data)
    skae.save(det, tmp_path / "d.skae")
    back = skae.load(tmp_path / "d.skae")
    np.testing.assert_array_equal(back.anomaly_score(data), det.anomaly_score(data))


def test_a_file_written_before_the_tails_term_loads_and_scores_as_then(data):
    det = AutoEncoderOutlierDetector(tail_weight=0, **FAST).fit(data)
    state = det.get_fitted_state()
    del state["tails"]
    back = AutoEncoderOutlierDetector.from_fitted_state(state)
    np.testing.assert_array_equal(back.anomaly_score(data), det.anomaly_score(data))


def test_rows_with_holes_score_finite(data):
    X = data.copy()
    X[::7, 2] = np.nan
    det = AutoEncoderOutlierDetector(**FAST).fit(X)
    assert np.isfinite(det.anomaly_score(X)).all()


def test_wide_data_members_see_at_most_32_columns():
    X = np.random.RandomState(4).normal(size=(60, 100))
    det = AutoEncoderOutlierDetector(**FAST).fit(X)
    assert max(len(c) for c in det.estimators_features_) == 32
    narrow = AutoEncoderOutlierDetector(**FAST).fit(X[:, :40])
    assert max(len(c) for c in narrow.estimators_features_) == 20  # half the columns, as before


def test_the_score_combines_both_terms_as_fishers_method(data):
    det = AutoEncoderOutlierDetector(**FAST).fit(data)
    rows = data[:25]
    train_members = det.member_scores(data).mean(axis=1)
    train_sums = ColumnTails.fit(data).raw(data)
    members, sums = det.member_scores(rows).mean(axis=1), ColumnTails.fit(data).raw(rows)
    n = len(data)

    def term(train, s):  # minus the log of the share of training scores at least s
        return -np.log(max((train >= s).sum() / n, 1 / (n + 1)))

    expected = [term(train_members, m) + 2.0 * term(train_sums, t) for m, t in zip(members, sums)]
    np.testing.assert_allclose(det.anomaly_score(rows), expected, rtol=1e-9)
