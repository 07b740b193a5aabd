import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture
def small_X():
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(120, 2))
    W = rng.normal(size=(2, 6))
    return np.tanh(latent @ W) + 0.05 * rng.normal(size=(120, 6))
