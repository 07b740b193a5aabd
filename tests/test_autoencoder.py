"""AutoEncoder through its public API: quality, pipelines, persistence, devices, errors."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoder, TrainingDivergedError

FAST = dict(hidden_dims=(16,), max_epochs=5, random_state=0)


def test_beats_pca_on_digits_with_defaults(digits):
    X, _ = digits
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
    ae = AutoEncoder(latent_dim=16, random_state=0).fit(Xtr)
    pca = PCA(16).fit(Xtr)
    mse_ae = np.mean((ae.reconstruct(Xte) - Xte) ** 2)
    mse_pca = np.mean((pca.inverse_transform(pca.transform(Xte)) - Xte) ** 2)
    assert mse_ae < 0.7 * mse_pca, (mse_ae, mse_pca)
    assert np.allclose(ae.inverse_transform(ae.transform(Xte)), ae.reconstruct(Xte))
    assert np.isclose(ae.score(Xte), -mse_ae)


def test_fit_transform_shapes_and_dtypes(small_X):
    ae = AutoEncoder(latent_dim=3, early_stopping=True, **FAST)  # rows are held out only for early stopping
    Z = ae.fit_transform(small_X)
    assert Z.shape == (120, 3) and Z.dtype == np.float64
    assert ae.transform(small_X.astype(np.float32)).dtype == np.float32
    assert ae.transform(small_X.astype(np.int64)).dtype == np.float64
    assert ae.inverse_transform(Z).shape == small_X.shape
    assert ae.score_samples(small_X).shape == (120,)
    assert ae.sample(7, random_state=0).shape == (7, 6)
    np.testing.assert_array_equal(ae.sample(4, random_state=1), ae.sample(4, random_state=1))
    assert list(ae.get_feature_names_out()) == ["latent0", "latent1", "latent2"]
    # early stopping chose the epoch count on held-out rows; the refit on every row has no validation loss
    assert {"train_loss", "valid_loss", "dur"} <= set(ae.selection_history_[-1])
    assert {"train_loss", "dur"} <= set(ae.history_[-1]) and len(ae.history_) <= len(ae.selection_history_)
    assert ae.interpolate(small_X[0], small_X[1], n_steps=4).shape == (4, 6)


def test_pandas_in_and_out(small_X):
    df = pd.DataFrame(small_X, columns=[f"f{i}" for i in range(6)])
    ae = AutoEncoder(latent_dim=2, **FAST).set_output(transform="pandas").fit(df)
    out = ae.transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["latent0", "latent1"]
    assert list(ae.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match=r"differ from those seen in fit .*missing \['f0'\]; unexpected \['other'\]"):
        ae.transform(df.rename(columns={"f0": "other"}))
    # a numeric table comes back as a table: its columns, names and dtypes
    rec = ae.inverse_transform(out)
    assert isinstance(rec, pd.DataFrame) and list(rec.columns) == list(df.columns)
    assert (rec.dtypes == df.dtypes).all()


def test_pipeline_and_grid_search_without_labels(small_X):
    pipe = make_pipeline(StandardScaler(), AutoEncoder(**FAST))
    pipe.set_params(autoencoder__latent_dim=2, autoencoder__optimizer__weight_decay=1e-4)
    assert pipe.fit_transform(small_X).shape == (120, 2)
    search = GridSearchCV(AutoEncoder(**FAST), {"latent_dim": [1, 4]}, cv=2).fit(small_X)
    assert search.best_params_["latent_dim"] == 4  # more latent units reconstruct better
    assert np.isfinite(search.best_score_)


def test_routed_parameters_survive_clone_and_reach_skorch(small_X):
    ae = AutoEncoder(optimizer="sgd", optimizer__momentum=0.9, **FAST)
    assert ae.get_params()["optimizer__momentum"] == 0.9
    twin = clone(ae)
    assert twin.get_params()["optimizer__momentum"] == 0.9
    twin.fit(small_X)
    assert twin.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    with pytest.raises(TypeError, match="unexpected parameter 'foo'"):
        AutoEncoder(foo=1, **FAST).fit(small_X)


def test_same_random_state_same_result_and_global_rng_untouched(small_X):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = AutoEncoder(**FAST).fit(small_X).transform(small_X)
    after = torch.rand(1)
    b = AutoEncoder(**FAST).fit(small_X).transform(small_X)
    np.testing.assert_array_equal(a, b)
    assert before == after
    c = AutoEncoder(**{**FAST, "random_state": 1}).fit(small_X).transform(small_X)
    assert not np.allclose(a, c)


def test_pickle_and_joblib_round_trip_bit_identical(small_X, tmp_path):
    ae = AutoEncoder(**FAST).fit(small_X)
    expected = ae.transform(small_X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ae)).transform(small_X), expected)
    joblib.dump(ae, tmp_path / "ae.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "ae.joblib").transform(small_X), expected)


def test_devices(small_X):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            AutoEncoder(device="cuda", **FAST).fit(small_X)
    ae = AutoEncoder(device="auto", **FAST).fit(small_X)
    assert ae.net_.device in ("cpu", "cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        AutoEncoder(device="gpu9", **FAST).fit(small_X)


def test_verbose_controls_progress(small_X, capsys):
    AutoEncoder(verbose=0, **FAST).fit(small_X)
    assert capsys.readouterr().out == ""
    AutoEncoder(verbose=1, early_stopping=True, **FAST).fit(small_X)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_loss" in out
    AutoEncoder(verbose=2, early_stopping=True, **FAST).fit(small_X)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out and "it/s" in captured.err  # per-batch progress bar (tqdm)


def test_diverging_loss_raises_and_leaves_estimator_unfitted(small_X):
    ae = AutoEncoder(lr=1e12, optimizer="sgd", **FAST)
    with pytest.raises(TrainingDivergedError, match="epoch .*Lower the learning rate"):
        ae.fit(small_X * 1e6)
    assert not hasattr(ae, "net_")


def test_warm_start_and_partial_fit_continue(small_X):
    ae = AutoEncoder(early_stopping=False, **FAST).fit(small_X)
    assert len(ae.history_) == 5
    ae.partial_fit(small_X)
    assert len(ae.history_) == 10
    ae.set_params(warm_start=True).fit(small_X)
    assert len(ae.history_) == 15


def test_bce_requires_unit_interval(small_X):
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\]"):
        AutoEncoder(loss="bce", **FAST).fit(small_X)
    ae = AutoEncoder(loss="bce", **FAST).fit((small_X > 0).astype(float))
    rec = ae.reconstruct((small_X > 0).astype(float))
    assert rec.min() >= 0 and rec.max() <= 1


def test_bad_input_messages(small_X):
    ae = AutoEncoder(**FAST).fit(small_X)
    with pytest.raises(ValueError, match="every entry missing"):
        ae.transform(np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match="6 features"):
        ae.transform(small_X[:, :3])
    with pytest.raises(ValueError, match="latent_dim=2"):
        ae.inverse_transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="latent_dim"):
        AutoEncoder(latent_dim=-1).fit(small_X)


def test_compile_option_trains_the_same_model(small_X, tmp_path):
    import skae

    kw = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)
    compiled = AutoEncoder(compile=True, **kw).fit(small_X)
    eager = AutoEncoder(**kw).fit(small_X)
    np.testing.assert_allclose(compiled.history_[:, "train_loss"], eager.history_[:, "train_loss"], rtol=1e-4)
    np.testing.assert_allclose(compiled.transform(small_X), eager.transform(small_X), atol=1e-4)
    expected = compiled.transform(small_X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(compiled)).transform(small_X), expected)
    skae.save(compiled, tmp_path / "c.skae")
    np.testing.assert_array_equal(skae.load(tmp_path / "c.skae").transform(small_X), expected)


def test_selection_history_belongs_to_the_fit_that_made_it(small_X):
    ae = AutoEncoder(latent_dim=2, hidden_dims=(8,), max_epochs=45, patience=2, random_state=0).fit(small_X)
    assert "valid_loss" in ae.selection_history_[-1] and "valid_loss" not in ae.history_[-1]
    ae.set_params(max_epochs=3).fit(small_X)  # too short for early stopping: nothing held out, no refit
    assert not hasattr(ae, "selection_history_") and len(ae.history_) == 3
