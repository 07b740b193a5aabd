"""GPU speed: skae against a hand-written PyTorch loop on the same GPU, every row in one run.

Rows (60,000 x 784 synthetic rows, the default 784-256-128-16 network; the loop
gets its data already on the GPU; medians of 3, contestants interleaved):

* ``AutoEncoder()`` / ``VAE()`` fit at batch 64, 1024 and 4096, for a few epochs
  and for 20, against a fused-Adam loop doing the same maths (rows per second);
* ``compile=True`` at batch 4096;
* ``transform`` of 600,000 rows, float32 and float64, against a raw encoder pass
  that includes the copy to the GPU;
* the default ``AutoEncoderOutlierDetector()`` on 100,000 x 50 on the GPU
  against the same on the CPU (one thread), fit and score.

Without CUDA it prints that and exits 0.  Writes results_gpu.md with the GPU's
name and the torch / CUDA versions.

    python benchmarks/bench_gpu.py            # about 10 minutes on an H200
    python benchmarks/bench_gpu.py --quick    # fewer rows and epochs: a smoke run
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = pathlib.Path(__file__).parent
HIDDEN, LATENT = (256, 128), 16


def mlp(sizes, activation="relu"):
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ELU() if activation == "elu" else nn.ReLU())
    return nn.Sequential(*layers)


def loop(X: torch.Tensor, epochs: int, batch: int, vae: bool, activation: str) -> None:
    """The reference: shuffled batches of a tensor already on the GPU, fused Adam, one loss read per epoch."""
    d = X.shape[1]
    enc = mlp([d, *HIDDEN, (2 if vae else 1) * LATENT], activation).cuda()
    dec = mlp([LATENT, *HIDDEN[::-1], d], activation).cuda()
    log_sigma = torch.zeros(d, device="cuda", requires_grad=True)
    params = [*enc.parameters(), *dec.parameters(), *([log_sigma] if vae else [])]
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    for _ in range(epochs):
        perm = torch.randperm(len(X), device="cuda")
        total = torch.zeros((), device="cuda")
        for i in range(0, len(X), batch):
            xb = X[perm[i:i + batch]]
            if vae:
                mean, log_var = enc(xb).chunk(2, -1)
                z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
                s = log_sigma.clamp(min=np.log(1e-3))
                rec = (0.5 * ((xb - dec(z)) * torch.exp(-s)).square() + s).sum(-1)
                kl = 0.5 * (mean.square() + torch.exp(log_var) - 1 - log_var).sum(-1)
                loss = (rec + kl).mean()
            else:
                loss = (dec(enc(xb)) - xb).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        float(total)
    torch.cuda.synchronize()


def timed(fn) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def median_of(fns: dict, reps: int) -> dict:
    times = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results_gpu.md"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu: CUDA is not available on this machine; nothing to measure (run it where a GPU is).")
        return 0
    from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector

    n, reps = (20_000, 1) if args.quick else (60_000, 3)
    few, many = (1, 2) if args.quick else (5, 20)
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(n, 784)).astype(np.float32)
    Xg = torch.as_tensor(X, device="cuda")
    name = torch.cuda.get_device_name()
    lines = [f"# bench_gpu: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, {time.strftime('%Y-%m-%d')}",
             "", f"{n:,} x 784 rows, the default 784-256-128-16 network; medians of {reps}, interleaved. Rows/s.", "",
             "| what | batch | epochs | loop rows/s | skae rows/s | loop / skae time |", "|---|---|---|---|---|---|"]
    common = dict(latent_dim=LATENT, device="cuda", random_state=0, early_stopping=False)
    for kind, estimator, activation in (("AutoEncoder", AutoEncoder, "elu"), ("VAE", VAE, "relu")):
        for batch in (64, 1024, 4096):
            for epochs in (few, many):
                if args.quick and batch == 64 and epochs == many:
                    continue
                times = median_of({
                    "loop": lambda: loop(Xg, epochs, batch, kind == "VAE", activation),
                    "skae": lambda: estimator(batch_size=batch, max_epochs=epochs, **common).fit(X),
                }, reps)
                lines.append(f"| {kind} fit | {batch} | {epochs} | {n * epochs / times['loop']:,.0f} | "
                             f"{n * epochs / times['skae']:,.0f} | {times['loop'] / times['skae']:.2f} |")
                print(lines[-1], flush=True)
    times = median_of({"compiled": lambda: AutoEncoder(batch_size=4096, max_epochs=many, compile=True, **common)
                       .fit(X)}, reps)
    lines.append(f"| AutoEncoder fit, compile=True | 4096 | {many} | | {n * many / times['compiled']:,.0f} | |")

    big = np.tile(X, (max(1, 600_000 // n), 1))
    model = AutoEncoder(max_epochs=1, **common).fit(X)
    encoder = model.module_.encoder.eval()
    mean = torch.as_tensor(model.scaling_mean_, dtype=torch.float32, device="cuda")
    scale = torch.as_tensor(model.scaling_scale_, dtype=torch.float32, device="cuda")

    def raw():
        with torch.inference_mode():
            for i in range(0, len(big), 65536):
                encoder((torch.as_tensor(big[i:i + 65536]).cuda(non_blocking=True) - mean) / scale).cpu()

    big64 = big.astype(np.float64)
    times = median_of({"raw": raw, "float32": lambda: model.transform(big), "float64": lambda: model.transform(big64)},
                      reps)
    lines += ["", f"| transform, {len(big):,} rows | raw encoder s | skae s | skae / raw |", "|---|---|---|---|"]
    for kind in ("float32", "float64"):
        lines.append(f"| {kind} | {times['raw']:.3f} | {times[kind]:.3f} | {times[kind] / times['raw']:.2f} |")

    D = rng.normal(size=(10_000 if args.quick else 100_000, 50)) @ rng.normal(size=(50, 50))
    torch.set_num_threads(1)
    det_times = {}
    for device in ("cuda", "cpu"):
        start = time.perf_counter()
        det = AutoEncoderOutlierDetector(device=device, random_state=0).fit(D)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        det.score_samples(D)
        det_times[device] = (fit_s, time.perf_counter() - start)
    lines += ["", f"| default detector, {len(D):,} x 50 | fit s | score s |", "|---|---|---|"]
    for device, (fit_s, score_s) in det_times.items():
        lines.append(f"| {device}{' (one thread)' if device == 'cpu' else ''} | {fit_s:.2f} | {score_s:.2f} |")
    print("\n".join(lines))
    if not args.quick:
        pathlib.Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
