"""scikit-learn's own estimator checks, and the contract around them."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import VAE, AutoEncoder

FAST = dict(max_epochs=3, hidden_dims=(8,), batch_size=32, random_state=0)


@parametrize_with_checks(
    [
        AutoEncoder(**FAST),
        AutoEncoder(regularizers=["l2"], corruption="gaussian", **FAST),
        VAE(**FAST),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
