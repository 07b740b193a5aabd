"""The training net and its policies: skorch's private methods it overrides, refit and rollback callbacks."""

import inspect
import re
from importlib.metadata import requires, version

import numpy as np
import pytest
from packaging.specifiers import SpecifierSet
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.hf import AccelerateMixin

from skae import AutoEncoder

# what skae's TrainingNet / AcceleratedTrainingNet override, as the tested skorch releases define it
PRIVATE_OVERRIDES = {
    (NeuralNet, "_set_training"): "(self, training=True)",
    (NeuralNet, "run_single_epoch"): "(self, iterator, training, prefix, step_fn, **fit_params)",
    (NeuralNet, "fit_loop"): "(self, X, y=None, epochs=None, *, _routing_method='fit', **fit_params)",
    (AccelerateMixin, "_initialize_accelerator"): "(self)",
    (AccelerateMixin, "_unwrap_accelerator"): "(self)",
}


def test_installed_skorch_is_a_release_skae_was_tested_with():
    pin = next(r for r in requires("skae") if re.match(r"skorch\b", r))
    specifier = SpecifierSet(pin.split(";")[0][len("skorch"):].strip())
    assert version("skorch") in specifier, (
        f"skorch {version('skorch')} is outside skae's pin {specifier}: skae overrides private skorch methods; "
        "check them (this file) before widening the pin in pyproject.toml"
    )


@pytest.mark.parametrize("owner, name", list(PRIVATE_OVERRIDES), ids=[n for _, n in PRIVATE_OVERRIDES])
def test_overridden_skorch_methods_keep_their_signatures(owner, name):
    method = getattr(owner, name, None)
    assert method is not None, f"skorch no longer has {owner.__name__}.{name}, which skae overrides"
    assert str(inspect.signature(method)) == PRIVATE_OVERRIDES[owner, name]


def test_per_batch_history_rows_hold_the_batch_size():
    X = np.random.RandomState(0).normal(size=(100, 4))
    ae = AutoEncoder(latent_dim=2, hidden_dims=(8,), max_epochs=2, batch_size=32, random_state=0).fit(X)
    assert [b["train_batch_size"] for b in ae.history_[-1, "batches"]] == [32, 32, 32, 4]


class _Recorder(Callback):
    def __init__(self):
        self.ends = []

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.ends.append(len(net.history))


def test_refit_trains_on_every_row_for_the_epochs_early_stopping_picked():
    X = np.random.RandomState(0).normal(size=(300, 6))
    recorder = _Recorder()
    ae = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, patience=4, random_state=0,
                     callbacks=[("recorder", recorder)]).fit(X)
    picked = int(np.argmin(ae.selection_history_[:, "valid_loss"])) + 1
    assert len(ae.history_) == picked and "valid_loss" not in ae.history_[-1]
    assert recorder.ends == [len(ae.selection_history_), picked]  # callbacks saw both runs end
    # same start, same shuffles: the refit replays the selection run's first epochs on more rows
    twin = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, patience=4, random_state=0).fit(X)
    np.testing.assert_array_equal(twin.transform(X[:5]), ae.transform(X[:5]))


def test_without_refit_the_early_stopped_model_is_kept():
    X = np.random.RandomState(0).normal(size=(300, 6))
    ae = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, patience=4, refit=False, random_state=0).fit(X)
    assert "valid_loss" in ae.history_[-1]
    assert not hasattr(ae, "selection_history_")


def test_a_verbose_fit_says_when_the_refit_table_begins(capsys):
    X = np.random.RandomState(0).normal(size=(300, 6))
    ae = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, patience=4, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("refit:"))
    assert f"for the {len(ae.history_)} epochs early stopping picked" in line
    quiet = AutoEncoder(latent_dim=2, hidden_dims=(16,), max_epochs=60, patience=4, random_state=0).fit(X)
    assert "refit:" not in capsys.readouterr().out and len(quiet.history_) == len(ae.history_)


class _InterruptInEpoch(Callback):
    """Ctrl-C in the middle of epoch ``epoch`` (after its second batch)."""

    def __init__(self, epoch):
        self.epoch, self.batches = epoch, 0

    def on_epoch_begin(self, net, **kwargs):
        self.batches = 0

    def on_batch_end(self, net, training=True, **kwargs):
        self.batches += training
        if len(net.history) == self.epoch and self.batches == 2:
            raise KeyboardInterrupt


@pytest.mark.parametrize("epoch", [1, 2, 3, 7])
def test_ctrl_c_inside_an_epoch_restores_the_weights_and_optimizer_state_of_the_epoch_before(epoch):
    # snapshots are refreshed in place after the first epochs: the state restored must be the last finished
    # epoch's exactly, whichever snapshot holds it
    X = np.random.RandomState(0).normal(size=(80, 5))
    kw = dict(latent_dim=2, hidden_dims=(8,), batch_size=16, early_stopping=False, random_state=0)
    stopped = AutoEncoder(max_epochs=50, callbacks=[_InterruptInEpoch(epoch)], **kw).fit(X)
    reference = AutoEncoder(max_epochs=epoch - 1, **kw).fit(X) if epoch > 1 else None
    assert len(stopped.history_) == epoch - 1
    if reference is None:
        return
    np.testing.assert_array_equal(stopped.transform(X), reference.transform(X))
    got, want = stopped.net_.optimizer_.state_dict(), reference.net_.optimizer_.state_dict()
    assert got["state"].keys() == want["state"].keys()
    for key in want["state"]:
        for name, value in want["state"][key].items():
            np.testing.assert_array_equal(got["state"][key][name].numpy(), value.numpy())


def test_auto_epochs_budget_a_mixed_tables_training_in_steps():
    import pandas as pd

    from skae.training._build import resolved_epochs

    rng = np.random.RandomState(0)
    table = pd.DataFrame({"x": rng.normal(size=2000), "kind": rng.choice(list("abc"), 2000)})
    model = AutoEncoder(latent_dim=2, hidden_dims=(8,), batch_size=16, random_state=0).fit(table)
    # 1,800 rows that would train beside the held-out ones: 113 batches; 4,000 steps are 36 epochs, which
    # leave early stopping no room (36 <= 2 x patience), so every row trains for them
    assert len(model.history_) == 36
    params = dict(max_epochs="auto", batch_size=64, validation_fraction=0.1)
    assert resolved_epochs(params, 233, mixed_table=True) == 200  # a small table keeps 200
    assert resolved_epochs(params, 2800, mixed_table=True) == 100
    assert resolved_epochs(params, 10**6, mixed_table=True) == 5  # at least 5
    assert resolved_epochs(params, 10**6, mixed_table=False) == 200  # arrays and numeric frames: 200
    assert resolved_epochs({**params, "max_epochs": 7}, 2800, mixed_table=True) == 7  # a number is kept
