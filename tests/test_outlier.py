"""AutoEncoderOutlierDetector: thresholds, predictions, attributions, scores."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector

FAST = dict(hidden_dims=(64, 64), batch_size=32, max_epochs=200, random_state=0)


@pytest.fixture(scope="module")
def manifold():
    rng = np.random.RandomState(0)
    t = rng.uniform(0, 3, 500)  # an open curve in 4-D: a 1-d latent can encode it
    normal = np.c_[t, np.sin(2 * t), np.cos(3 * t), t**2 / 3] + 0.02 * rng.normal(size=(500, 4))
    outliers = rng.uniform(normal.min(0), normal.max(0), size=(25, 4))
    X = np.r_[normal, outliers]
    y = np.r_[np.ones(500), -np.ones(25)]
    return X, y


def test_detects_off_manifold_points_and_contamination_sets_the_share(manifold):
    X, y = manifold
    det = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=1, **FAST), contamination=25 / 525).fit(X)
    assert roc_auc_score(y, det.score_samples(X)) > 0.95
    pred = det.predict(X)
    assert set(pred) == {-1, 1} and abs(np.mean(pred == -1) - 25 / 525) < 0.01
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.threshold_)
    auto = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=1, **FAST)).fit(X)
    scores = auto.estimator_.score_samples(X)
    med = np.median(scores)
    assert auto.offset_ == pytest.approx(med - 3 * 1.4826 * np.median(np.abs(scores - med)))


def test_feature_errors_name_the_columns(manifold):
    X, _ = manifold
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    det = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=1, **FAST)).fit(df)
    bad = df.iloc[:3].copy()
    bad["c"] += 5.0
    errors = det.feature_errors(bad)
    assert list(errors.columns) == ["a", "b", "c", "d"]
    assert (errors.idxmax(axis=1) == "c").all()
    np.testing.assert_allclose(errors.mean(axis=1), -det.score_samples(bad))


def test_vae_scores_and_trimmed_refit(manifold):
    X, y = manifold
    for score_type in ("auto", "elbo", "iwae", "reconstruction"):
        det = AutoEncoderOutlierDetector(VAE(latent_dim=1, **FAST), score_type=score_type).fit(X)
        assert roc_auc_score(y, det.score_samples(X)) > 0.8, score_type
    trimmed = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=1, **FAST), trim_fraction=0.05).fit(X)
    assert roc_auc_score(y, trimmed.score_samples(X)) > 0.95
    with pytest.raises(ValueError, match="needs a VAE"):
        AutoEncoderOutlierDetector(AutoEncoder(), score_type="elbo").fit(X)
