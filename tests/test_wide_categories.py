"""A categorical column of thousands of categories (an identifier): one code per row in the data, same results."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback

from skae import VAE, AutoEncoder, AutoEncoderImputer, AutoEncoderOutlierDetector

FAST = dict(latent_dim=2, hidden_dims=(8,), random_state=0)



def small_table():
    """A few rows of every kind of column, with missing numbers and categories and an unused category."""
    rng = np.random.RandomState(7)
    n = 64
    x = rng.normal(10, 3, n)
    x[[3, 17, 40]] = np.nan
    colour = rng.choice(["red", "green", "blue", "grey"], n).astype(object)
    colour[[5, 6, 33, 50, 61]] = None
    return pd.DataFrame({
        "x": x, "colour": colour,
        "size": pd.Categorical(rng.choice(["s", "m", "l"], n), categories=["s", "m", "l", "xl"], ordered=True),
        "flag": rng.rand(n) > 0.3,
        "day": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.randint(0, 90, n), unit="D"),
        "y": rng.normal(size=n),
    })


def wide_table(n, k, seed=0):
    """``n`` rows: an identifier column of ``k`` categories, then 5 numeric columns."""
    rng = np.random.RandomState(seed)
    ids = [f"id{i % k}" for i in rng.permutation(n)]
    return pd.DataFrame({"id": ids, **{f"x{j}": rng.normal(size=n) for j in range(5)}})


class Record(Callback):
    """What the network is given: the bytes of the training data's tensors, and each training batch."""

    def __init__(self):
        self.nbytes, self.batches = None, []

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.nbytes = sum(v.nbytes for v in vars(X).values() if isinstance(v, torch.Tensor))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches.append(batch[0].detach().cpu().numpy().copy())


def quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "nearly one category per row, like an identifier"
        return estimator.fit(X)


@pytest.fixture(params=["expanded once", "expanded per batch"])
def training_rows(request, monkeypatch):
    """Both ways a table's training rows are held: a small one expanded once, a large one packed."""
    if request.param == "expanded per batch":
        monkeypatch.setattr("skae.tables._datasets.DENSE_VALUES", 0)
    return request.param


def test_the_network_sees_the_dense_encoded_rows_bit_for_bit(training_rows):
    X = small_table()
    record = Record()
    ae = AutoEncoder(**FAST, max_epochs=2, batch_size=16, iterator_train__shuffle=False,
                     callbacks=[("record", record)]).fit(X)
    seen = np.concatenate(record.batches[:4])  # the first epoch, in row order
    expected = ((ae.column_layout_.encode(X) - ae.scaling_mean_) / ae.scaling_scale_).astype(np.float32)
    np.testing.assert_array_equal(seen, expected)  # NaN where NaN, every other bit equal
    start, stop = ae.column_layout_.slots[1]
    holes = X["colour"].isna().to_numpy()
    assert np.isnan(seen[holes, start:stop]).all() and not np.isnan(seen[~holes, start:stop]).any()
    assert (np.nansum(seen[:, start:stop], axis=1) == ~holes).all()  # one slot hot per observed entry
    assert np.isfinite(ae.history_[-1, "train_loss"])  # the missing entries were skipped, not learnt as NaN


def test_fits_give_the_numbers_the_dense_one_hot_path_gave(training_rows):
    """Reference values from skae before categories were packed (commit 5924a3a), on the same seeds."""
    X = small_table()
    ae = AutoEncoder(**FAST, max_epochs=6, batch_size=16, early_stopping=True, validation_fraction=0.25,
                     patience=3).fit(X)
    np.testing.assert_allclose(ae.history_[:, "train_loss"], [
        1.0773001909255981, 1.068558692932129, 1.0594661235809326, 1.0513213872909546, 1.0426055192947388,
        1.0350193977355957], rtol=1e-5)
    np.testing.assert_allclose(ae.selection_history_[:, "valid_loss"], [
        0.9629116058349609, 0.9594731330871582, 0.9563509225845337, 0.9531224966049194, 0.9498300552368164,
        0.946415901184082], rtol=1e-5)
    np.testing.assert_allclose(ae.transform(X)[:3], [
        [-0.14329668879508972, 0.14694026112556458], [0.6553549766540527, -0.11632959544658661],
        [0.28513967990875244, -0.06436757743358612]], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ae.score_samples(X)[:3], [-1.8222417581202865, -1.1345457855836154,
                                                          -0.6437279653072707], rtol=1e-5)
    vae = VAE(**FAST, max_epochs=3, batch_size=16).fit(X)
    np.testing.assert_allclose(vae.history_[:, "train_loss"], [7.881155014038086, 7.977081775665283,
                                                                7.953915596008301], rtol=1e-5)
    np.testing.assert_allclose(vae.transform(X)[:3], [
        [0.2011863887310028, 0.20612290501594543], [0.48342862725257874, 0.006521344184875488],
        [0.24762018024921417, -0.0015086233615875244]], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(vae.score_samples(X)[:3], [-10.057023647884296, -8.605152829378884,
                                                           -6.73849323199688], rtol=1e-5)


def test_an_unseen_category_in_training_is_skipped_like_a_missing_entry(training_rows):
    X = wide_table(300, 250)
    later = wide_table(300, 250, seed=1)
    holes, unseen = later.copy(), later.copy()
    rows = np.arange(0, 300, 7)
    holes.loc[rows, "id"] = None
    unseen.loc[rows, "id"] = [f"new{i}" for i in rows]
    fitted = [quiet_fit(AutoEncoder(**FAST, max_epochs=2, handle_unknown="ignore"), X) for _ in range(2)]
    fitted[0].partial_fit(holes)
    fitted[1].partial_fit(unseen)
    np.testing.assert_array_equal(fitted[0].history_[:, "train_loss"], fitted[1].history_[:, "train_loss"])
    np.testing.assert_array_equal(fitted[0].transform(later), fitted[1].transform(later))
    # scoring, an unseen category is no category (it costs what the least likely one would), not a hole
    scored_unseen, scored_holes = (fitted[0].score_samples(rows_.iloc[rows]) for rows_ in (unseen, holes))
    assert np.isfinite(scored_unseen).all() and (scored_unseen != scored_holes).all()


def test_the_imputer_detector_and_samplers_work_on_a_wide_table():
    X = wide_table(400, 300)
    holes = X.copy()
    holes.loc[::9, "id"] = None
    holes.loc[1::11, "x0"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        imputer = AutoEncoderImputer(AutoEncoder(**FAST, max_epochs=3), n_estimators=2, random_state=0).fit(holes)
        filled = imputer.transform(holes)
        detector = AutoEncoderOutlierDetector(AutoEncoder(**FAST, max_epochs=3), n_estimators=2,
                                              random_state=0).fit(X)
    assert not filled.isna().any().any() and set(filled["id"]) <= set(X["id"])
    for column in holes.columns:
        observed = holes[column].notna()
        assert (filled.loc[observed, column] == holes.loc[observed, column]).all(), column
    assert detector.predict(X).shape == (400,) and np.isfinite(detector.score_samples(X)).all()
    for model in (quiet_fit(VAE(**FAST, max_epochs=2), X), quiet_fit(AutoEncoder(**FAST, max_epochs=2), X)):
        drawn = model.sample(50, random_state=0)
        assert list(drawn.columns) == list(X.columns) and set(drawn["id"]) <= set(X["id"])
        assert drawn["id"].nunique() > 1


def test_a_4000_category_column_costs_the_training_data_under_10_mb():
    X = wide_table(4000, 4000)
    record = Record()
    quiet_fit(AutoEncoder(**FAST, max_epochs=1, batch_size=256, callbacks=[("record", record)]), X)
    # dense one-hot: 4,000 x 4,005 float32 slots, 64 MB; packed: 5 numbers and a code per row
    assert record.nbytes <= 10 * 2**20, record.nbytes / 2**20
    assert record.batches[0].shape == (256, 4005)  # what the network reads is still every slot


PEAK = r"""
import json, sys, warnings
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from skae import AutoEncoder

def peak():  # this process's own peak RSS in MB (ru_maxrss would count the parent's, which exec keeps)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

rng = np.random.RandomState(0)
X = pd.DataFrame({"id": [f"id{i}" for i in rng.permutation(4000)], **{f"x{j}": rng.normal(size=4000) for j in range(5)}})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    AutoEncoder(latent_dim=8, max_epochs=1, random_state=0).fit(X.iloc[:100, 1:]).score_samples(X.iloc[:100, 1:])
    base = peak()  # libraries loaded, thread pools started
    ae = AutoEncoder(latent_dim=8, max_epochs=1, batch_size=256, random_state=0).fit(X)
    ae.score_samples(X)
print(json.dumps(peak() - base))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak RSS from /proc")
def test_fit_and_scoring_of_a_wide_table_never_hold_it_dense():
    # dense, the table is 128 MB of float64 and 64 MB of float32 training data, copied again for the statistics
    # and the training codes: 760 MB above the baseline; packed, about 180 MB (the widest chunk: the codes of
    # 4,000 rows in one float32 pass, as before)
    out = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) < 300  # MB
