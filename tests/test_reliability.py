"""The reliability matrix (docs/guide/reliability.rst): one test per row, through the public API.

A behaviour every estimator shares runs over every public estimator it applies to: the registry in
tests/_estimators.py, which a new estimator joins by one entry.
"""

import inspect
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _estimators import (
    FAST,
    call,
    combinations,
    condition,
    data,
    fit,
    fitted,
    imputes,
    method_input,
    output_methods,
    public_methods,
    row_methods,
    x_methods,
)
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


@pytest.fixture
def X():
    return data()


@pytest.fixture
def fitted_ae(X):
    return AutoEncoder(**FAST).fit(X)


def _same(a, b):
    """Bit-identical outputs: arrays, DataFrames or numbers."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(b, a, check_exact=True)
    else:
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def _holes(X, share=0.15):
    """X with a share of its entries missing, every row keeping one observed entry."""
    H = X.copy()
    H[np.random.RandomState(1).uniform(size=H.shape) < share] = np.nan
    H[np.isnan(H).all(axis=1), 0] = X[np.isnan(H).all(axis=1), 0]
    return H


# ------------------------------------------------------------------- input

def _with(X, value):
    X = X.copy()
    X[3, 1] = value  # column 1: codes (2 columns) have one too
    return X


def _empty_row(X):
    X = X.copy()
    X[3] = np.nan
    return X


def _strings(X):
    X = X.astype(object)
    X[:, 0] = "x"  # a DataFrame's string columns are categorical (tests/test_tabular.py)
    return X


def _timedelta(X):
    frame = pd.DataFrame(X)  # unnamed (integer) columns: as an array's, without feature-name warnings
    frame[0] = pd.to_timedelta(np.arange(len(X)), "s")
    return frame


INPUT_ROWS = [
    ("a row with every entry missing", _empty_row, ValueError, r"every entry missing \(rows \[3\]"),
    ("+inf", lambda X: _with(X, np.inf), ValueError, "contains infinity"),
    ("-inf", lambda X: _with(X, -np.inf), ValueError, "contains infinity"),
    ("empty", lambda X: X[:0], ValueError, "0 sample"),
    ("1-D", lambda X: X[:, 0], ValueError, "Expected 2D array"),
    ("strings in an array", _strings, ValueError, "could not convert string"),
    ("timedelta column", _timedelta, TypeError, "which skae cannot model"),
    ("sparse", lambda X: sp.csr_matrix(X), TypeError, r"Sparse data was passed.*toarray"),
]

#: what inverse_transform says instead: a code has no missing entries (NaN is an error) and is no datetime
CODE_ERRORS = {
    "a row with every entry missing": (ValueError, "Input Z contains NaN"),
    "timedelta column": (TypeError, "Z's column 0 has dtype timedelta64.*inverse_transform takes latent codes"),
}

#: rows an imputer takes: a row with nothing observed gets the models' typical row
#: (test_an_imputer_fills_a_row_with_nothing_observed)
IMPUTED_ROWS = {"a row with every entry missing"}


def _input_rows(est):
    return [row for row in INPUT_ROWS if not (imputes(est) and row[0] in IMPUTED_ROWS)]


@pytest.mark.parametrize("make, row", combinations(lambda est: [(r[0], (r,)) for r in _input_rows(est)]))
def test_bad_input_at_fit(make, row, X):
    _, bad, error, match = row
    with pytest.raises(error, match=match):
        fit(make(), bad(X))


@pytest.mark.parametrize("make, method, row", combinations(
    lambda est: [(f"{m}-{r[0]}", (m, r)) for m in row_methods(est) for r in _input_rows(est)]))
def test_bad_input_after_fit(make, method, row, X):
    est = fitted(make)
    name, bad, error, match = row
    if method == "inverse_transform":
        error, match = CODE_ERRORS.get(name, (error, match))
    with pytest.raises(error, match=match):
        call(est, method, bad(method_input(est, method, X)))


# 3-D X is an image batch for estimators with an architecture (architecture="conv"), refused by the dense one;
# to the detector and the imputer it is no table at all, refused by scikit-learn's own check
@pytest.mark.parametrize("make", combinations(
    lambda est: [("", ())] if "architecture" in est.get_params(deep=False) else []))
def test_3d_input_to_a_dense_architecture(make, X):
    with pytest.raises(ValueError, match="architecture='dense' takes 2-D X.*Flatten it"):
        fit(make(), X.reshape(60, 2, 3))
    est = fitted(make)
    for method in x_methods(est):
        with pytest.raises(ValueError, match="takes 2-D X"):
            call(est, method, X.reshape(60, 2, 3))


@pytest.mark.parametrize("make", combinations())
def test_a_single_sample_fits_without_a_validation_split(make, X):
    est = fit(make(), X[:1])
    if hasattr(est, "history_"):
        assert "valid_loss" not in est.history_[-1]
    for method in row_methods(est):
        assert np.isfinite(np.asarray(call(est, method, method_input(est, method, X[:1])), dtype=float)).all()


@pytest.mark.parametrize("make", combinations())
def test_wrong_number_of_features_and_latent_size(make, X):
    est = fitted(make)
    name = type(est).__name__
    for method in x_methods(est):
        with pytest.raises(ValueError, match=f"X has 3 features, but {name} is expecting 6"):
            call(est, method, X[:, :3])
    if hasattr(est, "inverse_transform"):
        with pytest.raises(ValueError, match=f"Z has 3 features, but {name} has latent_dim=2"):
            call(est, "inverse_transform", np.zeros((2, 3)))
        with pytest.raises(ValueError, match="Input Z contains NaN"):
            call(est, "inverse_transform", np.full((2, 2), np.nan))


def test_condition_length_must_match(X):
    with pytest.raises(ValueError, match="X has 60 samples but the condition y has 10"):
        ConditionalVAE(**FAST).fit(X, np.arange(10))
    cvae = ConditionalVAE(**FAST).fit(X, np.arange(60) % 3)
    with pytest.raises(ValueError, match="Got 5 conditions for 60 samples"):
        cvae.transform(X, np.arange(5) % 3)
    with pytest.raises(ValueError, match="needs the condition y"):
        cvae.transform(X)


@pytest.mark.parametrize("make", combinations())
def test_different_column_names_than_at_fit(make, X):
    est = fit(make(), pd.DataFrame(X, columns=list("abcdef")))
    other = pd.DataFrame(X, columns=list("abcdeg"))
    for method in x_methods(est):
        with pytest.raises(ValueError, match="feature names should match"):
            call(est, method, other)


_ARGUMENTS = {  # a method's first parameter: what to call it with
    "X": lambda X: (X,), "x0": lambda X: (X[0], X[1]), "n_samples": lambda X: (2,),
    "input_features": lambda X: (), None: lambda X: (),
}


@pytest.mark.parametrize("make, method", combinations(lambda est: [(m, (m,)) for m in public_methods(est)]))
def test_use_before_fit_is_not_fitted_error(make, method, X):
    est = make()
    parameters = list(inspect.signature(getattr(est, method)).parameters)
    first = parameters[0] if parameters else None
    assert first in _ARGUMENTS, f"{method}({first}, ...): say in _ARGUMENTS what to call it with"
    with pytest.raises(NotFittedError):
        getattr(est, method)(*_ARGUMENTS[first](X))


# ----------------------------------------------------------- values and holes

@pytest.mark.parametrize("make", combinations())
def test_extreme_finite_rows_give_finite_outputs_and_scores_in_order(make, X):
    est = fitted(make)
    rows = np.repeat(X[:1], 3, axis=0)
    rows[1, 2], rows[2, 2] = 1e20, 1e25  # squared errors beyond float32: computed in float64
    if imputes(est):
        rows[:, 0] = np.nan  # a hole to fill from the extreme entries: an imputer returns complete rows as they are
    outputs = {m: call(est, m, method_input(est, m, rows)) for m in row_methods(est)}
    for method, out in outputs.items():
        assert np.isfinite(np.asarray(out, dtype=float)).all(), (method, out)
    for method in {"score_samples", "decision_function"} & set(outputs):  # higher for normal rows
        assert outputs[method][0] > outputs[method][1] > outputs[method][2], (method, outputs[method])
    if "anomaly_score" in outputs:
        assert outputs["anomaly_score"][0] < outputs["anomaly_score"][1] < outputs["anomaly_score"][2]
    if imputes(est):
        np.testing.assert_array_equal(outputs["transform"][:, 1:], rows[:, 1:])
    rows[2, 2] = 1e300  # beyond float32 once scaled: refused, named
    for method in x_methods(est):
        with pytest.raises(ValueError, match=r"column 2 reaches 1e\+300, beyond float32"):
            call(est, method, rows)


@pytest.mark.parametrize("make, at_fit", combinations(
    lambda est: [("holes-at-fit", (True,)), ("holes-after-fit", (False,))]))
def test_holes_are_missing_values(make, at_fit, X):
    """docs/guide/missing.rst: every output finite, feature_errors NaN exactly at the holes, observed kept."""
    H = _holes(X)
    est = fit(make(), H) if at_fit else fitted(make)
    for method in x_methods(est):
        out = np.asarray(call(est, method, H), dtype=float)
        if method == "feature_errors":  # a missing entry has no error
            np.testing.assert_array_equal(np.isnan(out), np.isnan(H))
        else:
            assert np.isfinite(out).all(), method
    if imputes(est):
        observed = ~np.isnan(H)
        np.testing.assert_array_equal(est.transform(H)[observed], X[observed])


@pytest.mark.parametrize("make", combinations(lambda est: [("", ())] if imputes(est) else []))
def test_an_imputer_fills_a_row_with_nothing_observed(make, X):
    X = _empty_row(X)  # refused by every other estimator (test_bad_input_*): there is nothing to encode
    est = fit(make(), X)
    filled = est.transform(X)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[[3]], est.transform(np.full((1, 6), np.nan)))  # the models' typical row


@pytest.mark.parametrize("make", combinations())
def test_a_column_with_nothing_observed_at_fit(make, X):
    X[:, 1] = np.nan
    est = make()
    if imputes(est):  # dropped from the output, as scikit-learn's imputers do (keep_empty_features=False)
        assert fit(est, X).transform(X).shape == (60, 5)
    else:
        with pytest.raises(ValueError, match="column 1 has no observed value"):
            fit(est, X)


# ------------------------------------------------------------------ dtypes

def _table():
    """A table of every common dtype, with holes where the dtype can hold one, on a non-default index."""
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({
        "a": rng.normal(size=60), "b": rng.normal(size=60).astype(np.float32), "c": rng.randint(0, 9, 60),
        "d": pd.Categorical(rng.choice(["x", "y", "z"], 60)), "e": rng.uniform(size=60) < 0.5,
        "f": rng.choice(["u", "v"], 60).astype(object),
    }, index=np.arange(100, 160))
    for column in "abdf":
        frame.loc[frame.index[rng.choice(60, 5, replace=False)], column] = None
    return frame


# the detector returns no rows (scores, labels and per-column errors): nothing of X's kind to keep
@pytest.mark.parametrize("make", combinations(lambda est: [("", ())] if output_methods(est) else []))
def test_a_dataframe_comes_back_with_its_columns_and_dtypes(make):
    frame = _table()
    est = fit(make(), frame)
    for method in output_methods(est):
        out = call(est, method, method_input(est, method, frame))
        assert isinstance(out, pd.DataFrame), method
        assert list(out.columns) == list(frame.columns), method
        pd.testing.assert_series_equal(out.dtypes, frame.dtypes, obj=method)
        if method != "inverse_transform":  # codes are an array: decoded rows get a fresh index
            pd.testing.assert_index_equal(out.index, frame.index, exact=True, obj=method)


@pytest.mark.parametrize("make, dtype", combinations(
    lambda est: [(d.__name__, (d,)) for d in (np.float32, np.float64)] if output_methods(est) else []))
def test_float32_and_float64_arrays_come_back_in_their_dtype(make, dtype, X):
    H = _holes(X).astype(dtype)
    est = fit(make(), H)
    for method in output_methods(est):
        out = call(est, method, method_input(est, method, H))
        assert isinstance(out, np.ndarray) and out.dtype == dtype, (method, type(out), getattr(out, "dtype", None))
        assert np.isfinite(out).all(), method


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


@pytest.mark.parametrize("make", combinations(lambda est: [("", ())] if hasattr(est, "partial_fit") else []))
def test_warm_start_and_partial_fit_continue_training(make, X):
    est = make().set_params(early_stopping=False)
    fit(est, X)
    call(est, "partial_fit", X)
    fit(est.set_params(warm_start=True), X)
    assert len(est.history_) == 3 * FAST["max_epochs"]


# ------------------------------------------------------------- persistence

def _joblib(est, path):
    joblib.dump(est, path / "m.joblib")
    return joblib.load(path / "m.joblib")


def _skae_file(est, path):
    skae.save(est, path / "m.skae")
    return skae.load(path / "m.skae")


ROUND_TRIPS = {"pickle": lambda est, path: pickle.loads(pickle.dumps(est)), "joblib": _joblib, "skae": _skae_file}


@pytest.mark.parametrize("make, how", combinations(lambda est: [(how, (how,)) for how in ROUND_TRIPS]))
def test_model_files_give_bit_identical_outputs(make, how, X, tmp_path):
    est = fitted(make)
    back = ROUND_TRIPS[how](est, tmp_path)
    assert type(back) is type(est)
    for method in row_methods(est):
        _same(call(est, method, method_input(est, method, X)), call(back, method, method_input(est, method, X)))
    if hasattr(est, "sample"):
        _same(est.sample(4, random_state=0, **condition(est, 4)), back.sample(4, random_state=0, **condition(est, 4)))
    if hasattr(est, "partial_fit"):  # a loaded model trains on
        call(back, "partial_fit", X)
        assert len(back.history_) == len(est.history_) + FAST["max_epochs"]


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


def test_weights_only_files_keep_each_setting(X, tmp_path):
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


def test_weights_file_executes_no_code_and_rejects_bad_files(fitted_ae, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(fitted_ae, path)
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

#: settings with randomness of their own beside the registry's: corruption noise, FiLM conditioning
SEEDED_VARIANTS = [
    pytest.param(lambda: AutoEncoder(corruption="gaussian", **FAST), id="AutoEncoder-gaussian-corruption"),
    pytest.param(lambda: ConditionalVAE(conditioning="film", **FAST), id="ConditionalVAE-film"),
]


@pytest.mark.parametrize("make", combinations() + SEEDED_VARIANTS)
def test_same_random_state_same_results(make, X):
    a, b = fit(make(), X), fit(make(), X)
    for method in row_methods(a):
        _same(call(a, method, method_input(a, method, X)), call(b, method, method_input(a, method, X)))
    if hasattr(a, "history_"):
        np.testing.assert_array_equal(a.history_[:, "train_loss"], b.history_[:, "train_loss"])
    if hasattr(a, "sample"):
        _same(a.sample(4, random_state=0, **condition(a, 4)), b.sample(4, random_state=0, **condition(a, 4)))


@pytest.mark.parametrize("make", combinations())
def test_no_warnings_on_a_clean_fit(make, X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = make()
        if imputes(est):
            # X's columns are independent: the column mean is the best fill there is, and the imputer's own check
            # rightly says its models fill worse (check_fills' documented warning); any other warning still fails
            warnings.filterwarnings("ignore", message=".*worse than their mean", category=UserWarning)
        est = fit(est, X)
        for method in row_methods(est):
            call(est, method, method_input(est, method, X))
