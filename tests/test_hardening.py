"""Silent wrong results, lost work, unsafe paths and confusing errors an adversarial run found.

Each test goes through the public API and failed before its fix; the docs'
reliability page (docs/guide/reliability.rst) lists the behaviour each one pins down.
"""

import os
import signal
import subprocess
import sys
import time
import types
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import skae
from skae import (
    VAE,
    AutoEncoder,
    AutoEncoderOutlierDetector,
    ConditionalVAE,
    ModelFileError,
    PluginWarning,
    TrainingDivergedError,
    plugins,
)
from skae.cli import main

FAST = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


# ------------------------------------------------------------ silent wrong results


def test_streaming_and_in_memory_statistics_agree_on_offset_data(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40_000, 3))
    X[:, 2] += 1e8  # a one-pass sum of squares loses this column's variance to cancellation
    X.tofile(tmp_path / "X.f64")
    mm = np.memmap(tmp_path / "X.f64", dtype=np.float64, mode="r", shape=X.shape)
    kw = dict(latent_dim=1, hidden_dims=(4,), max_epochs=1, scaling="standard", random_state=0)
    on_disk, in_memory = AutoEncoder(**kw).fit(mm), AutoEncoder(**kw).fit(X)
    np.testing.assert_allclose(on_disk.scaling_scale_, in_memory.scaling_scale_, rtol=1e-10)
    np.testing.assert_allclose(on_disk.scaling_mean_, in_memory.scaling_mean_, rtol=1e-10)
    np.testing.assert_allclose(on_disk.scaling_scale_, X.std(axis=0), rtol=1e-10)  # numpy's two-pass std


def test_data_in_tiny_units_keeps_its_scale(X):
    kw = dict(latent_dim=3, hidden_dims=(16,), max_epochs=30, random_state=0)

    def relative_error(data):
        rec = AutoEncoder(**kw).fit(data).reconstruct(data)
        return np.mean((rec - data) ** 2) / np.mean(data**2)

    assert relative_error(X * 1e-15) < 2 * relative_error(X) + 1e-3


def test_an_overflowing_column_is_named(X):
    bad = pd.DataFrame(X, columns=list("abcdef"))
    bad.iloc[4, 2] = 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error, not a numpy RuntimeWarning
        with pytest.raises(ValueError, match=r"column 2 \('c'\).*too large"):
            AutoEncoder(**FAST).fit(bad)
    with pytest.raises(ValueError, match=r"column 2 \('c'\).*beyond float32"):
        AutoEncoder(scaling=None, **FAST).fit(bad.assign(c=bad["c"].clip(upper=1e39)))


def test_a_copy_on_write_memmap_is_read_as_the_array_not_the_file(tmp_path):
    data = np.random.RandomState(0).normal(size=(500, 4))
    data.tofile(tmp_path / "X.f64")
    mm = np.memmap(tmp_path / "X.f64", dtype=np.float64, mode="c", shape=data.shape)
    mm -= 1.0  # changes the array in memory only
    ae = AutoEncoder(**FAST).fit(mm)
    np.testing.assert_allclose(ae.scaling_mean_, np.asarray(mm).mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(ae.transform(mm), ae.transform(np.array(mm)))


def test_missing_conditions_are_an_error(X):
    y = np.array(["a", "b", None] * 20, dtype=object)
    with pytest.raises(ValueError, match=r"condition column 'y' has missing values.*rows \[2, 5"):
        ConditionalVAE(**FAST).fit(X, y)
    labels = pd.Series(["a", "b", "c"] * 20, dtype="string")
    cvae = ConditionalVAE(**FAST).fit(X, labels)
    with pytest.raises(ValueError, match="missing values"):
        cvae.transform(X[:2], pd.Series(["a", pd.NA], dtype="string"))


def test_condition_columns_are_matched_by_name(X):
    y = pd.DataFrame({"label": np.arange(60) % 3, "dose": np.linspace(0, 1, 60)})
    cvae = ConditionalVAE(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="matched by name"):
        cvae.transform(X, y[["dose", "label"]])
    with pytest.raises(ValueError, match="matched by name"):
        cvae.transform(X, y.rename(columns={"dose": "amount"}))
    unnamed = y.set_axis([0, 1], axis=1)  # no string names: matched by position, as scikit-learn does for X
    np.testing.assert_array_equal(cvae.transform(X, y), cvae.transform(X, unnamed))


def test_set_params_after_fit_does_not_change_the_fitted_model(X, tmp_path):
    ae = AutoEncoder(**FAST).fit(X)
    expected = ae.transform(X)
    ae.set_params(latent_dim=3, hidden_dims=(4,))
    assert ae.transform(X).shape == (60, 2)
    assert list(ae.get_feature_names_out()) == ["latent0", "latent1"]
    assert list(ae.set_output(transform="pandas").transform(X).columns) == ["latent0", "latent1"]
    ae.set_output(transform="default")
    skae.save(ae, tmp_path / "m.skae")
    back = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(back.transform(X), expected)
    assert back.latent_dim == 2  # the file describes the fitted model


class _Stop(Callback):
    """Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.seen = epoch, batch, 0

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.seen += 1
            if self.seen == self.batch:
                raise KeyboardInterrupt


def test_booleans_are_refused_where_a_number_is_expected(X):
    with pytest.raises(InvalidParameterError, match="'latent_dim' parameter.*not a boolean"):
        AutoEncoder(latent_dim=True).fit(X)
    ae = AutoEncoder(**FAST).fit(X)
    with pytest.raises(ValueError, match="n_samples must be a positive int; got True"):
        ae.sample(True)
    vae = VAE(**FAST).fit(X)
    with pytest.raises(ValueError, match="n_samples must be a positive int; got 0"):
        vae.score_samples(X, n_samples=0)


def test_a_misspelled_callback_name_is_named_with_the_valid_ones(X):
    with pytest.raises(ValueError, match=r"callback named 'print_lgo'.*'print_log'"):
        AutoEncoder(callbacks__print_lgo__floatfmt=".2f", **FAST).fit(X)


def test_an_interrupt_mid_epoch_keeps_the_last_finished_epoch(X):
    kw = dict(latent_dim=2, hidden_dims=(8,), batch_size=8, early_stopping=False, random_state=0)
    stopped = AutoEncoder(max_epochs=10, callbacks=[_Stop(epoch=3, batch=4)], **kw).fit(X)
    two_epochs = AutoEncoder(max_epochs=2, **kw).fit(X)
    assert len(stopped.history_) == 2
    np.testing.assert_array_equal(stopped.transform(X), two_epochs.transform(X))


@pytest.mark.parametrize("model", [
    AutoEncoder(loss="bce", latent_dim=4, max_epochs=20, random_state=0),
    VAE(likelihood="bernoulli", latent_dim=4, max_epochs=20, random_state=0),
    AutoEncoder(latent_dim=4, max_epochs=20, random_state=0),
    VAE(latent_dim=4, max_epochs=20, random_state=0),
], ids=["AE-bce", "VAE-bernoulli", "AE-mse", "VAE-gaussian"])
def test_out_of_range_rows_score_as_anomalous_and_bce_models_warn(model):
    X = load_digits().data / 16.0
    model.fit(X[:1000])
    normal = model.score_samples(X[1000:1200])
    bernoulli = model.get_params().get("loss") == "bce" or model.get_params().get("likelihood") == "bernoulli"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaled_up = model.score_samples(X[1000:1200] * 255)
    assert scaled_up.max() < normal.min()
    messages = [str(w.message) for w in caught if "outside [0, 1]" in str(w.message)]
    assert len(messages) == (1 if bernoulli else 0)
    if bernoulli:
        assert "[0, 255]" in messages[0]


# ------------------------------------------------------------------- lost work


def test_a_failed_save_leaves_the_earlier_file_intact(X, tmp_path, monkeypatch):
    path = tmp_path / "m.skae"
    good = AutoEncoder(**FAST).fit(X)
    skae.save(good, path)
    real_save = torch.save

    def disk_full(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        skae.save(AutoEncoder(**{**FAST, "random_state": 1}).fit(X), path)
    monkeypatch.undo()
    np.testing.assert_array_equal(skae.load(path).transform(X), good.transform(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skae"]  # no temporary file left behind


def test_divergence_in_partial_fit_leaves_the_optimizer_usable(X):
    ae = AutoEncoder(**FAST).fit(X)
    before = ae.transform(X)
    with pytest.raises(TrainingDivergedError):
        ae.partial_fit(X * 1e30)
    np.testing.assert_array_equal(ae.transform(X), before)
    ae.partial_fit(X)  # clean data trains on: the optimizer's moments were restored too
    assert np.isfinite(ae.transform(X)).all() and len(ae.history_) == 6


class _PoisonAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_a_fresh_fit_that_diverges_keeps_its_good_epochs(X):
    kw = dict(latent_dim=2, hidden_dims=(8,), early_stopping=False, random_state=0)
    ae = AutoEncoder(max_epochs=10, callbacks=[_PoisonAt(3)], **kw)
    with pytest.raises(TrainingDivergedError, match="epoch 3.*keeps the weights of epoch 2.*partial_fit"):
        ae.fit(X)
    assert len(ae.history_) == 2
    np.testing.assert_array_equal(ae.transform(X), AutoEncoder(max_epochs=2, **kw).fit(X).transform(X))
    first = AutoEncoder(max_epochs=10, callbacks=[_PoisonAt(1)], **kw)
    with pytest.raises(TrainingDivergedError, match="No epoch finished: the estimator is not fitted"):
        first.fit(X)
    assert not hasattr(first, "net_")


@pytest.fixture
def table(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame.iloc[:200]
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return frame, path


def test_cli_checks_the_output_before_training(table, tmp_path, capsys):
    _, path = table
    start = time.perf_counter()
    assert main(["fit", str(path), "-p", "max_epochs=500", "--out", str(tmp_path / "missing" / "m.skae")]) == 2
    assert time.perf_counter() - start < 2  # refused before training
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def _interrupt_fit(path, out, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "skae", "fit", str(path), "-p", "max_epochs=100000", "-p", "verbose=1",
         "-p", "early_stopping=false", "--out", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen = ""
    while seen.count("\n") < 5 or "train_loss" not in seen:  # progress goes to stderr: wait for two epochs
        line = proc.stderr.readline()
        assert line, seen  # the process ended before training was under way
        seen += line
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    return proc.returncode, err.strip().splitlines()[-1]


def test_ctrl_c_during_cli_fit_writes_nothing_unless_asked(table, tmp_path):
    _, path = table
    out = tmp_path / "m.skae"
    out.write_bytes(b"an earlier model")
    code, err = _interrupt_fit(path, out)
    assert code == 130 and "nothing was written" in err and "Traceback" not in err, err
    assert out.read_bytes() == b"an earlier model"
    code, err = _interrupt_fit(path, out, "--save-on-interrupt")
    assert code == 130 and "saved the model of epoch" in err and "Traceback" not in err, err
    assert skae.load(out).history_[-1, "train_loss"] > 0


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch evil-ran",))


def test_cli_loads_a_pickle_only_when_asked(table, tmp_path, capsys, monkeypatch):
    import joblib

    _, path = table
    monkeypatch.chdir(tmp_path)
    joblib.dump(_Evil(), tmp_path / "evil.joblib")
    assert main(["transform", str(tmp_path / "evil.joblib"), str(path)]) == 2
    assert "--allow-pickle" in capsys.readouterr().err and not (tmp_path / "evil-ran").exists()
    model = tmp_path / "good.joblib"
    assert main(["fit", str(path), "-p", "max_epochs=2", "--out", str(model)]) == 0
    assert main(["transform", str(model), str(path), "--allow-pickle"]) == 0
    assert "--allow-pickle" in subprocess.run([sys.executable, "-m", "skae", "transform", "--help"],
                                              capture_output=True, text=True).stdout


def _rewrite(path, edit):
    """Edit a model file's state and recompute its digest, as an attacker could."""
    from skae import persistence

    record = torch.load(path, weights_only=True)
    edit(record)
    record["sha256"] = persistence._digest({"class": record["class"], "state": record["state"]})
    torch.save(record, path)


def test_crafted_files_raise_model_file_error_and_set_nothing_else(X, tmp_path):
    ae = AutoEncoder(**FAST).fit(X)
    edits = {
        "wrong type": lambda r: r["state"].update(n_features_in="six"),
        "wrong shape": lambda r: r["state"].update(scaling_mean={"__ndarray__": torch.zeros(3, dtype=torch.float64)}),
        "foreign class": lambda r: r.update({"class": "builtins.eval"}),
        "unknown parameter": lambda r: r["state"]["params"].update(__class__="x"),
        "missing weights": lambda r: r["state"]["module"].clear(),
        "missing entry": lambda r: r["state"].pop("history"),
        "nested junk": lambda r: r["state"].update(params={"estimator": {"__estimator__": "os", "params": {}}}),
    }
    for name, edit in edits.items():
        path = tmp_path / f"{name}.skae"
        skae.save(ae, path)
        _rewrite(path, edit)
        with pytest.raises(ModelFileError):
            skae.load(path)
    path = tmp_path / "extra.skae"
    skae.save(ae, path)
    _rewrite(path, lambda r: r["state"].update(net_=1, __dict__={"evil": 1}, evil_attribute_=1))
    back = skae.load(path)  # keys the format does not define are not restored
    assert not hasattr(back, "evil_attribute_") and not hasattr(back, "evil")
    np.testing.assert_array_equal(back.transform(X), ae.transform(X))
    # a digest is not a signature: weights edited and re-hashed load, and change the model
    _rewrite(path, lambda r: r["state"]["module"]["encoder.net.0.weight"].mul_(2))
    assert not np.allclose(skae.load(path).transform(X), ae.transform(X))


def test_a_plugin_that_exits_at_import_is_contained(tmp_path, monkeypatch):
    (tmp_path / "skae_exits_at_import.py").write_text("raise SystemExit(2)  # argparse at import time\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib.metadata

    ep = importlib.metadata.EntryPoint(name="exits", value="skae_exits_at_import", group="skae")
    ep = types.SimpleNamespace(name=ep.name, load=ep.load, dist=types.SimpleNamespace(name="skae-exits-dist"))
    monkeypatch.setattr(plugins._manager.importlib.metadata, "entry_points", lambda group: [ep])
    with warnings.catch_warnings():  # building the manager loads the patched entry point too: checked below
        warnings.simplefilter("ignore", PluginWarning)
        pm = plugins.get_plugin_manager()
    with pytest.warns(PluginWarning, match="skae-exits-dist.*SystemExit"):
        plugins._manager._load_entry_points(pm)
    monkeypatch.setenv("SKAE_PLUGINS", "exits,no_such_plugin")
    with pytest.warns(PluginWarning) as caught:  # the unknown name, and the allowed plugin failing again
        plugins._manager._load_entry_points(pm)
    messages = [str(w.message) for w in caught]
    assert any("SKAE_PLUGINS names ['no_such_plugin']" in m for m in messages)
    assert any("skae-exits-dist" in m and "SystemExit" in m for m in messages)


# ------------------------------------------------------------- confusing errors


def test_cli_errors_are_one_line(table, tmp_path, capsys):
    frame, path = table
    model = tmp_path / "m.skae"
    assert main(["fit", str(path), "-p", "max_epochs=2", "--drop", "target", "--out", str(model)]) == 0
    capsys.readouterr()
    cases = [
        (["fit", str(path), "-p", "lr=1e30", "-p", "max_epochs=3", "-o", str(tmp_path / "x.skae")], "loss became"),
        (["transform", str(model), str(path), "--method", "predict"], "needs a detector"),
        (["transform", str(model), str(path), "--target", "nope"], "--target 'nope' is not a column"),
        (["fit", str(path), "-o", str(tmp_path / "no" / "x.skae")], "does not exist"),
        (["fit", str(path), "-p", "device=xpu", "-o", str(tmp_path / "x.skae")], "not supported"),
        (["fit", str(path), "-o", str(tmp_path / "model.txt")], "must end in .skae"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        # stderr also carries the start line, warnings and epoch lines; the error is one line, the last
        errors = [line for line in err.splitlines() if ": error:" in line]
        assert len(errors) == 1 and errors[0] == err.splitlines()[-1], err
        assert message in errors[0] and "Traceback" not in err, err


def test_saving_to_a_missing_directory_or_a_directory(X, tmp_path):
    ae = AutoEncoder(**FAST).fit(X)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        skae.save(ae, tmp_path / "missing" / "m.skae")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        skae.save(ae, tmp_path)


def test_numpy_numbers_are_numbers(X):
    AutoEncoder(regularizers={"l2": np.float32(0.1)}, **FAST).fit(X)
    AutoEncoder(regularizers=["l1"], regularizers__l1__weight=np.int64(1), **FAST).fit(X)
    AutoEncoder(regularizers=["topk"], regularizers__topk__k=np.int64(1), **FAST).fit(X)


def test_misspelled_module_and_iterator_parameters_are_named(X):
    with pytest.raises(TypeError, match="module__latent_activaton.*Did you mean module__latent_activation"):
        AutoEncoder(module__latent_activaton="sigmoid", **FAST).fit(X)
    with pytest.raises(TypeError, match=r"iterator_train__num_workers.*\['iterator_train__batch_size'"):
        AutoEncoder(iterator_train__num_workers=2, **FAST).fit(X)


@pytest.mark.parametrize("device", ["xpu", "meta"])
def test_devices_skae_cannot_train_on(device, X):
    with pytest.raises(ValueError, match=f"device='{device}'.*not supported"):
        AutoEncoder(device=device, **FAST).fit(X)


def test_the_detector_refuses_a_conditional_model(X):
    with pytest.raises(ValueError, match="wraps unconditional estimators.*score_samples\\(X, y\\)"):
        AutoEncoderOutlierDetector(ConditionalVAE(**FAST)).fit(X, np.arange(60) % 2)
