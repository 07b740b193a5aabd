"""Beyond one process: Dask-distributed search, Accelerate training, out-of-core data."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skae import AutoEncoder, plugins

FAST = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)


def test_grid_search_on_a_dask_local_cluster(small_X):
    distributed = pytest.importorskip("distributed")
    import joblib

    regularizers = [None, "l1_activity"]
    if "decorrelation" in plugins.available("regularizer"):
        regularizers.append("decorrelation")  # an entry-point plugin, resolved by name on each worker
    grid = {"latent_dim": [1, 2], "regularizers": regularizers}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(AutoEncoder(**FAST), grid, cv=2).fit(small_X)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(workers) == 2
    assert len(search.cv_results_["params"]) == 2 * len(regularizers)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.transform(small_X).shape[1] == search.best_params_["latent_dim"]


@pytest.fixture
def on_disk(tmp_path):
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(3000, 2))
    X = (np.tanh(latent @ rng.normal(size=(2, 8))) + 0.05 * rng.normal(size=(3000, 8))).astype(np.float32)
    path = tmp_path / "X.f32"
    X.tofile(path)
    return np.memmap(path, dtype=np.float32, mode="r", shape=X.shape), X


def test_memmap_fit_streams_blocks_and_matches_in_memory_inference(on_disk, monkeypatch):
    import skae.tables._datasets
    import skae.tables._input

    mm, X = on_disk
    monkeypatch.setattr(skae.tables._input, "BLOCK_ROWS", 500)
    monkeypatch.setattr(skae.tables._datasets, "BLOCK_ROWS", 500)
    reads = []
    original = skae.tables._datasets.read_rows

    def spy(array, start, stop):
        reads.append(min(stop, len(array)) - start)
        return original(array, start, stop)

    monkeypatch.setattr(skae.tables._input, "read_rows", spy)
    monkeypatch.setattr(skae.tables._datasets, "read_rows", spy)
    ae = AutoEncoder(latent_dim=2, max_epochs=4, corruption="salt_and_pepper", early_stopping=True, refit=False,
                     random_state=0).fit(mm)
    assert max(reads) <= 500  # never more than a block in memory
    assert ae.n_features_in_ == 8 and len(ae.history_) == 4 and "valid_loss" in ae.history_[-1]
    # inference on the memmap (chunked) equals inference on the same rows in memory
    np.testing.assert_array_equal(ae.transform(mm), ae.transform(X))
    np.testing.assert_array_equal(ae.score_samples(mm), ae.score_samples(X))
    # scaling statistics computed by blocks equal the in-memory ones
    ref = AutoEncoder(latent_dim=2, max_epochs=1, random_state=0).fit(X)
    np.testing.assert_allclose(ae.scaling_mean_, ref.scaling_mean_, rtol=1e-6)
    np.testing.assert_allclose(ae.scaling_scale_, ref.scaling_scale_, rtol=1e-6)
    ae.partial_fit(mm)
    assert len(ae.history_) == 8


def test_memmap_errors_and_vae(on_disk, tmp_path):
    from skae import VAE

    mm, X = on_disk
    bad = X.copy()
    bad[1234, 3] = np.inf
    bad.tofile(tmp_path / "bad.f32")
    bad_mm = np.memmap(tmp_path / "bad.f32", dtype=np.float32, mode="r", shape=X.shape)
    with pytest.raises(ValueError, match="contains infinity \\(first in row 1234\\)"):
        AutoEncoder(**FAST).fit(bad_mm)
    vae = VAE(latent_dim=2, max_epochs=3, random_state=0).fit(mm)
    with pytest.raises(ValueError, match="row 1234"):
        vae.transform(bad_mm)
    np.testing.assert_array_equal(vae.score_samples(mm), vae.score_samples(X))
    with pytest.raises(ValueError, match="memmap X must be 2-D"):
        AutoEncoder(**FAST).fit(np.memmap(tmp_path / "bad.f32", dtype=np.float32, mode="r", shape=(3000, 2, 4)))


def test_accelerate_single_process_matches_plain_training(small_X):
    accelerate = pytest.importorskip("accelerate")
    import pickle

    acc = accelerate.Accelerator(cpu=True)
    kw = dict(latent_dim=2, hidden_dims=(16,), max_epochs=4, random_state=0)
    ae = AutoEncoder(accelerator=acc, **kw).fit(small_X)
    ref = AutoEncoder(**kw).fit(small_X)
    assert type(ae.net_).__name__ == "AcceleratedTrainingNet"
    np.testing.assert_array_equal(ae.history_[:, "train_loss"], ref.history_[:, "train_loss"])
    np.testing.assert_array_equal(ae.transform(small_X), ref.transform(small_X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ae)).transform(small_X), ae.transform(small_X))
    ae.partial_fit(small_X)  # wraps again after the unwrap at the end of fit
    assert len(ae.history_) == 8


TWO_PROCESS_SCRIPT = """
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
from accelerate import Accelerator
from skae import VAE
X = np.random.RandomState(0).normal(size=(512, 6)).astype(np.float32)
acc = Accelerator(cpu=True)
vae = VAE(latent_dim=2, hidden_dims=(16,), max_epochs=2, batch_size=64, random_state=0, accelerator=acc).fit(X)
w = torch.cat([p.detach().flatten() for p in vae.module_.parameters()]).tolist()
# one file per rank: lines printed by two processes into one pipe can interleave
with open(f"{sys.argv[1]}/rank{acc.process_index}.json", "w") as f:
    json.dump({"rank": acc.process_index, "world": acc.num_processes, "w": w}, f)
# leave together and close the group: a process that exits with gloo's threads still running can abort
acc.wait_for_everyone()
torch.distributed.destroy_process_group()
"""


def test_accelerate_two_cpu_processes_keep_replicas_in_sync(tmp_path):
    pytest.importorskip("accelerate")
    import json
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun") or str(__import__("pathlib").Path(sys.executable).with_name("torchrun"))
    script = tmp_path / "train.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    port = 29500 + __import__("os").getpid() % 1000
    out = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(port),
                          str(script), str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("rank*.json"))]
    assert sorted(r["rank"] for r in results) == [0, 1] and {r["world"] for r in results} == {2}
    # DDP all-reduces the gradients: both replicas hold the same weights after training
    np.testing.assert_array_equal(results[0]["w"], results[1]["w"])


def test_outlier_detector_streams_a_memmap(on_disk):
    from skae import AutoEncoderOutlierDetector

    mm, X = on_disk
    det = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=2, max_epochs=3, random_state=0), contamination=0.05)
    labels = det.fit_predict(mm)
    assert det.n_features_in_ == 8 and (labels == -1).mean() == pytest.approx(0.05, abs=0.01)
    np.testing.assert_array_equal(det.score_samples(mm), det.score_samples(X))
    trimmed = AutoEncoderOutlierDetector(AutoEncoder(latent_dim=2, max_epochs=3, random_state=0),
                                         trim_fraction=0.05).fit(mm)
    assert np.isfinite(trimmed.decision_function(mm)).all()
