"""Out-of-core fitting: peak memory stays flat while n grows, fit time grows linearly.

For each n, a float32 (n x 64) array is written to disk block by block, then a
fresh process fits ``AutoEncoder`` for one epoch on a ``numpy.memmap`` of it
(streamed in blocks of 16,384 rows) and encodes it with ``transform``; the same
is done with the array loaded into memory for comparison.  Peak RSS is the
child's ``ru_maxrss``; "above baseline" subtracts the RSS after importing skae.

    python benchmarks/bench_memory.py                 # n = 1e5, 3e5, 1e6
    python benchmarks/bench_memory.py --sizes 20000 60000 --out /tmp/mem.md
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
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
