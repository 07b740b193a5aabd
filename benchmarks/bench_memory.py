"""Out-of-core fitting: peak memory stays flat while n grows, fit time grows linearly.

For each n, a float32 (n x 64) array is written to disk block by block, then a
fresh process fits ``AutoEncoder`` for one epoch on a ``numpy.memmap`` of it
(streamed in blocks of 16,384 rows) and encodes it with ``transform``; the same
is done with the array loaded into memory for comparison.  Peak RSS is the
child's ``ru_maxrss``; "above baseline" subtracts the RSS after importing skae.

A second table: a DataFrame of n rows with an identifier column of k
categories (k = n: one per row) and 5 numeric columns, fitted for one epoch
and scored with ``score_samples``.  Its encoded rows are k + 5 slots wide;
"training data MB" is what the training tensors hold (read by a callback).

    python benchmarks/bench_memory.py                 # n = 1e5, 3e5, 1e6; tables of 4,000 and 16,000 rows
    python benchmarks/bench_memory.py --sizes 20000 60000 --tables 4000 --out /tmp/mem.md
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

N_FEATURES = 64

CHILD = r"""
import json, os, resource, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch
torch.set_num_threads(1)
from skae import AutoEncoder
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, N_FEATURES))
if mode == "in-memory":
    X = np.array(X)
t = time.perf_counter()
ae = AutoEncoder(latent_dim=8, max_epochs=1, batch_size=256, random_state=0).fit(X)
fit_s = time.perf_counter() - t
t = time.perf_counter()
Z = ae.transform(X)
transform_s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"fit_s": fit_s, "transform_s": transform_s, "peak_mb": peak, "base_mb": base,
                  "loss": ae.history_[-1, "train_loss"]}))
""".replace("N_FEATURES", str(N_FEATURES))


TABLE_CHILD = r"""
import json, os, resource, sys, time, warnings
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from skorch.callbacks import Callback
from skae import AutoEncoder
n = int(sys.argv[1])
rng = np.random.RandomState(0)
X = pd.DataFrame({"id": [f"id{i}" for i in rng.permutation(n)], **{f"x{j}": rng.normal(size=n) for j in range(5)}})


class DataBytes(Callback):
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.mb = sum(v.nbytes for v in vars(X).values() if isinstance(v, torch.Tensor)) / 2**20


data = DataBytes()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # "nearly one category per row, like an identifier"
    ae = AutoEncoder(latent_dim=8, max_epochs=1, batch_size=256, random_state=0, callbacks=[("data", data)]).fit(X)
fit_s = time.perf_counter() - t
t = time.perf_counter()
ae.score_samples(X)
score_s = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"fit_s": fit_s, "score_s": score_s, "peak_mb": peak, "base_mb": base, "data_mb": data.mb,
                  "loss": ae.history_[-1, "train_loss"]}))
"""


def table_lines(sizes):
    """The identifier-column table, one row per n (a fresh process each)."""
    lines = ["", "## A table with an identifier column (n rows, n categories, 5 numeric columns): "
             "AutoEncoder(latent_dim=8) 1 epoch, batch 256, then score_samples, 1 thread", "",
             "| n | encoded slots | dense float64 MB | training data MB | fit s | score s | peak RSS MB | "
             "above baseline MB |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", TABLE_CHILD, str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        line = (f"| {n:,} | {n + 5:,} | {n * (n + 5) * 8 / 2**20:.0f} | {r['data_mb']:.2f} | {r['fit_s']:.1f} | "
                f"{r['score_s']:.2f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.0f} |")
        lines.append(line)
        print(line, flush=True)
    return lines


def write_data(path, n, block=100_000):
    """A 4-D latent structure pushed through a fixed nonlinearity, written without holding it all."""
    rng = np.random.RandomState(0)
    W = rng.normal(size=(4, N_FEATURES))
    with open(path, "wb") as f:
        for start in range(0, n, block):
            m = min(block, n - start)
            z = rng.normal(size=(m, 4))
            (np.tanh(z @ W) + 0.05 * rng.normal(size=(m, N_FEATURES))).astype(np.float32).tofile(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--tables", nargs="*", type=int, default=[4_000, 16_000])
    parser.add_argument("--out", default="benchmarks/results_memory.md")
    args = parser.parse_args()
    lines = [f"# bench_memory: n x {N_FEATURES} float32, AutoEncoder(latent_dim=8) 1 epoch, batch 256, "
             f"1 thread, {time.strftime('%Y-%m-%d')}", "",
             "| n | data MB | mode | fit s | fit s per 1e5 rows | transform s | peak RSS MB | above baseline MB |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = os.path.join(tmp, f"X_{n}.f32")
            write_data(path, n)
            for mode in ("memmap", "in-memory"):
                out = subprocess.run([sys.executable, "-c", CHILD, path, str(n), mode],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                line = (f"| {n:,} | {n * N_FEATURES * 4 / 2**20:.0f} | {mode} | {r['fit_s']:.1f} | "
                        f"{r['fit_s'] / n * 1e5:.2f} | {r['transform_s']:.2f} | {r['peak_mb']:.0f} | "
                        f"{r['peak_mb'] - r['base_mb']:.0f} |")
                lines.append(line)
                print(line, flush=True)
            os.remove(path)
    lines += table_lines(args.tables)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
