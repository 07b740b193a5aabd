"""The reliability matrix (docs/guide/reliability.rst): one test per row, through the public API."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import skae
from skae import (
    VAE,
    AutoEncoder,
    AutoEncoderOutlierDetector,
    ConditionalVAE,
    ModelFileError,
    TrainingDivergedError,
)

FAST = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


@pytest.fixture
def fitted(X):
    return AutoEncoder(**FAST).fit(X)


# ------------------------------------------------------------------- input

def _with(X, value):
    X = X.copy()
    X[3, 2] = value
    return X


def _empty_row(X):
    X = X.copy()
    X[3] = np.nan
    return X


INPUT_ROWS = [
    ("a row with every entry missing", _empty_row, ValueError, r"every entry missing \(rows \[3\]"),
    ("+inf", lambda X: _with(X, np.inf), ValueError, "contains infinity"),
    ("-inf", lambda X: _with(X, -np.inf), ValueError, "contains infinity"),
    ("empty", lambda X: X[:0], ValueError, "0 sample"),
    ("1-D", lambda X: X[:, 0], ValueError, "Expected 2D array"),
    ("3-D with a dense architecture", lambda X: X.reshape(60, 2, 3), ValueError, "architecture='dense' takes 2-D X"),
    ("strings in an array", lambda X: np.c_[np.array(["x"] * 60, dtype=object), X[:, 0]], ValueError,
     "could not convert string"),  # a DataFrame's string columns are categorical (tests/test_tabular.py)
    ("timedelta column", lambda X: pd.DataFrame({"a": pd.to_timedelta(np.arange(60), "s"), "b": X[:, 0]}),
     TypeError, "which skae cannot model"),
    ("sparse", lambda X: sp.csr_matrix(X), TypeError, r"Sparse data was passed.*toarray"),
]


@pytest.mark.parametrize("estimator", [AutoEncoder, VAE], ids=["AutoEncoder", "VAE"])
@pytest.mark.parametrize("row", INPUT_ROWS, ids=[r[0] for r in INPUT_ROWS])
def test_bad_input_at_fit(estimator, row, X):
    _, make, error, match = row
    with pytest.raises(error, match=match):
        estimator(**FAST).fit(make(X))


@pytest.mark.parametrize("method", ["transform", "reconstruct", "score_samples", "feature_errors"])
@pytest.mark.parametrize("row", INPUT_ROWS[:3] + INPUT_ROWS[4:], ids=[r[0] for r in INPUT_ROWS[:3] + INPUT_ROWS[4:]])
def test_bad_input_after_fit(fitted, method, row, X):
    _, make, error, match = row
    with pytest.raises(error, match=match.replace("architecture='dense' takes 2-D X", "takes 2-D X")):
        getattr(fitted, method)(make(X))


def test_a_single_sample_fits_without_a_validation_split(X):
    ae = AutoEncoder(**FAST).fit(X[:1])
    assert "valid_loss" not in ae.history_[-1]
    assert np.isfinite(ae.transform(X[:1])).all()


def test_wrong_number_of_features_and_latent_size(fitted, X):
    with pytest.raises(ValueError, match="X has 3 features, but AutoEncoder is expecting 6"):
        fitted.transform(X[:, :3])
    with pytest.raises(ValueError, match="Z has 3 features, but AutoEncoder has latent_dim=2"):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Input Z contains NaN"):
        fitted.inverse_transform(np.full((2, 2), np.nan))


def test_condition_length_must_match(X):
    with pytest.raises(ValueError, match="X has 60 samples but the condition y has 10"):
        ConditionalVAE(**FAST).fit(X, np.arange(10))
    cvae = ConditionalVAE(**FAST).fit(X, np.arange(60) % 3)
    with pytest.raises(ValueError, match="Got 5 conditions for 60 samples"):
        cvae.transform(X, np.arange(5) % 3)
    with pytest.raises(ValueError, match="needs the condition y"):
        cvae.transform(X)


def test_different_column_names_than_at_fit(X):
    ae = AutoEncoder(**FAST).fit(pd.DataFrame(X, columns=list("abcdef")))
    with pytest.raises(ValueError, match="feature names should match"):
        ae.transform(pd.DataFrame(X, columns=list("abcdeg")))


def test_use_before_fit_is_not_fitted_error(X):
    for call in (lambda: AutoEncoder().transform(X), lambda: VAE().sample(2),
                 lambda: AutoEncoderOutlierDetector().predict(X)):
        with pytest.raises(NotFittedError):
            call()


# -------------------------------------------------------------- parameters

PARAM_ROWS = [
    ("negative latent_dim", AutoEncoder, dict(latent_dim=-1), InvalidParameterError, "latent_dim"),
    ("unknown loss", AutoEncoder, dict(loss="l1"), InvalidParameterError, "'loss' parameter"),
    ("unknown likelihood", VAE, dict(likelihood="poisson"), InvalidParameterError, "'likelihood'"),
    ("sigma0 <= 0", VAE, dict(sigma0=0.0), InvalidParameterError, "'sigma0'"),
    ("negative beta", VAE, dict(beta=-1.0), InvalidParameterError, "'beta'"),
    ("lr <= 0", AutoEncoder, dict(lr=0.0), InvalidParameterError, "'lr'"),
    ("batch_size 0", AutoEncoder, dict(batch_size=0), InvalidParameterError, "'batch_size'"),
    ("max_epochs 0", AutoEncoder, dict(max_epochs=0), InvalidParameterError, "'max_epochs'"),
    ("validation_fraction 1", AutoEncoder, dict(validation_fraction=1.0), InvalidParameterError,
     "'validation_fraction'"),
    ("unknown activation", AutoEncoder, dict(activation="swish"), InvalidParameterError, "'activation'"),
    ("negative hidden width", AutoEncoder, dict(hidden_dims=(-3,)), ValueError, "positive ints"),
    ("unknown regularizer", AutoEncoder, dict(regularizers="l3"), ValueError, "Did you mean 'l2'"),
    ("unknown corruption", AutoEncoder, dict(corruption="blur"), ValueError, "Available corruptions"),
    ("unknown architecture", AutoEncoder, dict(architecture="transformer"), ValueError, "Available architectures"),
    ("top-k with k > latent_dim", AutoEncoder, dict(regularizers="topk", regularizers__topk__k=5), ValueError,
     r"k must be an int in \[1, latent_dim=2\]"),
    ("masking rate > 1", AutoEncoder, dict(corruption="masking", corruption__p_min=1.5), ValueError, "p_min"),
    ("misspelled prefix", AutoEncoder, dict(optimiser__weight_decay=0.1), TypeError, "unexpected parameter"),
    ("misspelled optimizer parameter", AutoEncoder, dict(optimizer__wd=0.1), TypeError, r"optimizer__wd"),
    ("regularizer parameter of an unselected one", AutoEncoder, dict(regularizers__l1__weight=1.0), ValueError,
     "not in regularizers"),
    ("device without CUDA", AutoEncoder, dict(device="cuda"), ValueError, "CUDA is not available"),
    ("unknown device", AutoEncoder, dict(device="gpu9"), ValueError, "not a torch device"),
]


@pytest.mark.parametrize("row", PARAM_ROWS, ids=[r[0] for r in PARAM_ROWS])
def test_bad_parameters_fail_at_fit(row, X):
    _, estimator, params, error, match = row
    if params.get("device") == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    est = estimator(**{**FAST, **params})  # construction never raises (scikit-learn convention)
    with pytest.raises(error, match=match):
        est.fit(X)
    assert not hasattr(est, "net_")


def test_bad_detector_and_conditional_parameters(X):
    with pytest.raises(InvalidParameterError, match="contamination"):
        AutoEncoderOutlierDetector(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="score_type='iwae' needs a VAE"):
        AutoEncoderOutlierDetector(AutoEncoder(**FAST), score_type="iwae").fit(X)
    with pytest.raises(ValueError, match="Did you mean 'concat'"):
        ConditionalVAE(conditioning="concatt", **FAST).fit(X, np.arange(60) % 2)


# ---------------------------------------------------------------- training

def test_diverging_loss_names_the_epoch_and_keeps_the_last_good_weights(X):
    ae = AutoEncoder(lr=1e12, optimizer="sgd", batch_size=16, **FAST)  # several steps: it breaks within epoch 1
    with pytest.raises(TrainingDivergedError, match=r"at epoch 1.*Lower the learning rate.*not fitted"):
        ae.fit(X * 1e6)
    assert not hasattr(ae, "net_")  # no epoch finished: not left looking fitted

    good = AutoEncoder(**FAST).fit(X)
    before = good.transform(X)
    good.set_params(lr=1e12, optimizer="sgd")
    good.net_.set_params(lr=1e12)
    with pytest.raises(TrainingDivergedError):
        good.partial_fit(X * 1e6)
    np.testing.assert_array_equal(good.transform(X), before)  # the earlier weights are restored


class _InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_keyboard_interrupt_keeps_the_last_good_parameters(X):
    ae = AutoEncoder(callbacks=[_InterruptAt(2)], early_stopping=False, **{**FAST, "max_epochs": 50}).fit(X)
    assert len(ae.history_) == 2
    assert np.isfinite(ae.transform(X)).all()
    ae.partial_fit(X)  # and training can go on
    assert len(ae.history_) > 2


def test_warm_start_and_partial_fit_continue_training(X):
    ae = AutoEncoder(early_stopping=False, **FAST).fit(X)
    ae.partial_fit(X)
    ae.set_params(warm_start=True).fit(X)
    assert len(ae.history_) == 9


# ------------------------------------------------------------- persistence

@pytest.mark.parametrize("estimator", [AutoEncoder(**FAST), VAE(**FAST)], ids=["AutoEncoder", "VAE"])
def test_pickle_and_joblib_give_bit_identical_transform(estimator, X, tmp_path):
    est = estimator.fit(X)
    expected = est.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(X), expected)
    joblib.dump(est, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").transform(X), expected)


def test_a_cuda_trained_model_loads_on_a_cpu_only_machine(X, tmp_path, monkeypatch):
    """Simulated where no GPU is present: the files record device 'cuda' as a GPU-trained model's do."""
    if torch.cuda.is_available():
        pytest.skip("run on a machine without CUDA")
    ae = AutoEncoder(**FAST).fit(X)
    expected = ae.transform(X)
    ae.transform(X.astype(np.float64))  # inference state, which must not travel
    ae.net_.device = "cuda"
    with pytest.warns(Warning) as caught:  # skae's warning, and skorch's DeviceWarning beside it
        back = pickle.loads(pickle.dumps(ae))
    assert any("CUDA" in str(w.message) for w in caught)
    np.testing.assert_array_equal(back.transform(X), expected)
    skae.save(ae, tmp_path / "m.skae")
    with pytest.warns(UserWarning, match="not available; loading it on the CPU"):
        back = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(back.transform(X), expected)
    assert back.device_ == "cpu" and back.device == ae.device  # the user's parameter is not rewritten


def _fitted_models(X):
    y = pd.DataFrame({"label": np.arange(60) % 3, "dose": np.linspace(0, 1, 60)})
    yield AutoEncoder(corruption="masking", **FAST).fit(X), (X,)
    yield VAE(likelihood="gaussian", learn_sigma0=True, **FAST).fit(X), (X,)
    yield ConditionalVAE(conditional_prior=True, **FAST).fit(X, y), (X, y)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    yield AutoEncoderOutlierDetector(AutoEncoder(**FAST), contamination=0.1).fit(frame), (frame,)


def test_weights_only_save_and_load_round_trip(X, tmp_path):
    for est, args in _fitted_models(X):
        path = tmp_path / f"{type(est).__name__}.skae"
        skae.save(est, path)
        back = skae.load(path)
        assert type(back) is type(est)
        assert back.get_params(deep=False).keys() == est.get_params(deep=False).keys()
        if isinstance(est, AutoEncoderOutlierDetector):
            np.testing.assert_array_equal(back.decision_function(*args), est.decision_function(*args))
            assert list(back.feature_errors(*args).columns) == list(args[0].columns)
            continue
        np.testing.assert_array_equal(back.transform(*args), est.transform(*args))
        np.testing.assert_array_equal(back.reconstruct(*args), est.reconstruct(*args))
        assert len(back.history_) == len(est.history_)
        back.partial_fit(*args)  # a loaded model trains on
        assert len(back.history_) == len(est.history_) + FAST["max_epochs"]


def test_weights_file_executes_no_code_and_rejects_bad_files(fitted, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(fitted, path)
    data = path.read_bytes()

    (tmp_path / "truncated.skae").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a readable skae weights file"):
        skae.load(tmp_path / "truncated.skae")

    record = torch.load(path, weights_only=True)
    record["state"]["module"]["encoder.net.0.weight"][0, 0] += 1.0
    torch.save(record, tmp_path / "tampered.skae")
    with pytest.raises(ModelFileError, match="failed its checksum"):
        skae.load(tmp_path / "tampered.skae")

    torch.save({"format": "skae-weights", "payload": {"code": _Evil()}}, tmp_path / "evil.skae")
    _Evil.ran = False
    with pytest.raises(ModelFileError, match="not a readable"):
        skae.load(tmp_path / "evil.skae")
    assert not _Evil.ran

    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not a skae weights file"):
        skae.load(tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="No model file"):
        skae.load(tmp_path / "missing.skae")


class _Evil:
    ran = False

    def __reduce__(self):
        return (_Evil._run, ())

    @staticmethod
    def _run():
        _Evil.ran = True
        return None


def test_weights_only_save_refuses_parameters_it_cannot_store(X):
    ae = AutoEncoder(optimizer=torch.optim.Adam, **FAST).fit(X)
    with pytest.raises(ValueError, match="optimizer=.*cannot be stored in a weights-only file"):
        skae.save(ae, "never-written.skae")


# ----------------------------------------------------------------- determinism

@pytest.mark.parametrize("make", [
    lambda: AutoEncoder(corruption="gaussian", **FAST),
    lambda: VAE(**FAST),
    lambda: ConditionalVAE(conditioning="film", **FAST),
], ids=["AutoEncoder", "VAE", "ConditionalVAE"])
def test_same_random_state_same_results(make, X):
    y = np.arange(60) % 2
    a, b = make().fit(X, y), make().fit(X, y)
    kw = {"y": y} if isinstance(a, ConditionalVAE) else {}
    np.testing.assert_array_equal(a.transform(X, **kw), b.transform(X, **kw))
    np.testing.assert_array_equal(a.history_[:, "train_loss"], b.history_[:, "train_loss"])
    sample_kw = {"y": 1} if kw else {}
    np.testing.assert_array_equal(a.sample(4, random_state=0, **sample_kw), b.sample(4, random_state=0, **sample_kw))


def test_no_warnings_on_a_clean_fit(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoEncoder(**FAST).fit(X).transform(X)


@pytest.mark.parametrize("make", [lambda: AutoEncoder(**FAST), lambda: VAE(**FAST)], ids=["AutoEncoder", "VAE"])
def test_extreme_finite_rows_score_finite_and_in_order(make, X):
    est = make().fit(X)
    rows = np.repeat(X[:1], 3, axis=0)
    rows[1, 2], rows[2, 2] = 1e20, 1e25  # squared errors beyond float32: computed in float64
    scores = est.score_samples(rows)
    assert np.isfinite(scores).all() and scores[0] > scores[1] > scores[2], scores
    assert np.isfinite(est.feature_errors(rows)).all()
    rows[2, 2] = 1e300  # beyond float32 once scaled: refused, named
    with pytest.raises(ValueError, match="column 2 reaches 1e\\+300, beyond float32"):
        est.score_samples(rows)
