"""Training and inference speed of skae against a hand-written PyTorch loop.

Contestants run interleaved (one repetition of each, then the next), on one
thread, and the table reports medians and the ratio skae / reference.

    python benchmarks/bench_fit.py            # 60,000 x 784 synthetic + digits, 5 epochs, 3 reps
    python benchmarks/bench_fit.py --quick    # 20,000 rows, 2 epochs

PyOD's AutoEncoder is timed too when ``pyod`` is installed (``pip install pyod``).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from skae import VAE, AutoEncoder
from skae.losses import gaussian_log_likelihood, kl_standard_normal

torch.set_num_threads(1)
HIDDEN, LATENT, BATCH = (256, 128), 16, 128


def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def adam(params):
    try:
        return torch.optim.Adam(params, lr=1e-3, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=1e-3, foreach=True)


def reference_ae(X, epochs, seed=0):
    torch.manual_seed(seed)
    d = X.shape[1]
    enc, dec = mlp([d, *HIDDEN, LATENT]), mlp([LATENT, *HIDDEN[::-1], d])
    opt = adam([*enc.parameters(), *dec.parameters()])
    Xt = torch.as_tensor(X)
    for _ in range(epochs):
        Xp = Xt[torch.randperm(len(Xt))]
        total = torch.zeros(())
        for i in range(0, len(Xp), BATCH):
            xb = Xp[i:i + BATCH]
            loss = (dec(enc(xb)) - xb).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
    return enc, float(total / len(Xp))


def reference_vae(X, epochs, seed=0):
    torch.manual_seed(seed)
    d = X.shape[1]
    enc, dec = mlp([d, *HIDDEN, 2 * LATENT]), mlp([LATENT, *HIDDEN[::-1], d])
    opt = adam([*enc.parameters(), *dec.parameters()])
    Xt = torch.as_tensor(X)
    log_sigma = torch.tensor(np.log(0.1))
    for _ in range(epochs):
        Xp = Xt[torch.randperm(len(Xt))]
        for i in range(0, len(Xp), BATCH):
            xb = Xp[i:i + BATCH]
            mean, log_var = enc(xb).chunk(2, -1)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            loss = (kl_standard_normal(mean, log_var) - gaussian_log_likelihood(xb, dec(z), log_sigma)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return enc


def skae_kw(epochs, **extra):
    return dict(latent_dim=LATENT, hidden_dims=HIDDEN, activation="relu", max_epochs=epochs, batch_size=BATCH,
                early_stopping=False, scaling=None, random_state=0, **extra)


def pyod_ae(X, epochs):
    """PyOD's AutoEncoder at the same size (bottleneck last in hidden_neuron_list), or None if absent."""
    try:
        from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder
    except ImportError:
        return None
    return PyODAutoEncoder(hidden_neuron_list=[*HIDDEN, LATENT], epoch_num=epochs, batch_size=BATCH,
                           batch_norm=False, dropout_rate=0.0, preprocessing=False, optimizer_params={},
                           device="cpu", verbose=0, random_state=0).fit(X)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run(name, X, epochs, reps, rows):
    times = {k: [] for k in ("ref AE", "skae AE default", "skae AE compile=True", "PyOD AutoEncoder", "ref VAE",
                             "skae VAE default", "ref encoder pass", "skae transform")}
    losses, first_compile = {}, None
    # warm-up (lazy initialisation, allocator, compilation caches) outside the timings
    reference_ae(X[:512], 1), AutoEncoder(**skae_kw(1)).fit(X[:512]), reference_vae(X[:512], 1)
    for _ in range(reps):
        t, (enc, losses["ref AE"]) = timed(lambda: reference_ae(X, epochs))
        times["ref AE"].append(t)
        t, ae = timed(lambda: AutoEncoder(**skae_kw(epochs)).fit(X))
        times["skae AE default"].append(t)
        losses["skae AE"] = ae.history_[-1, "train_loss"]
        t, compiled = timed(lambda: AutoEncoder(**skae_kw(epochs, compile=True)).fit(X))
        first_compile = t if first_compile is None else first_compile
        times["skae AE compile=True"].append(t)
        losses["skae AE compile"] = compiled.history_[-1, "train_loss"]
        t, pyod = timed(lambda: pyod_ae(X, epochs))
        if pyod is not None:
            times["PyOD AutoEncoder"].append(t)
        times["ref VAE"].append(timed(lambda: reference_vae(X, epochs))[0])
        times["skae VAE default"].append(timed(lambda: VAE(**skae_kw(epochs)).fit(X))[0])

        def ref_encode():
            with torch.inference_mode():
                return enc(torch.as_tensor(X)).numpy()

        times["ref encoder pass"].append(timed(ref_encode)[0])
        times["skae transform"].append(timed(lambda: ae.transform(X))[0])
    med = {k: statistics.median(v) for k, v in times.items() if v}
    pairs = [("skae AE default", "ref AE"), ("skae AE compile=True", "ref AE"), ("PyOD AutoEncoder", "ref AE"),
             ("skae VAE default", "ref VAE"), ("skae transform", "ref encoder pass")]
    lines = [f"### {name}: {X.shape[0]} x {X.shape[1]}, {epochs} epochs, batch {BATCH}, {reps} reps, 1 thread", "",
             "| contestant | median s | reference | ratio |", "|---|---|---|---|"]
    for a, b in pairs:
        if a in med:
            lines.append(f"| {a} | {med[a]:.3f} | {b} {med[b]:.3f} s | {med[a] / med[b]:.2f} |")
    lines.append("")
    lines.append(f"final train loss (same maths, same seed): reference {losses['ref AE']:.5f}, "
                 f"skae {losses['skae AE']:.5f}, skae compiled {losses['skae AE compile']:.5f}; "
                 f"first compiled fit (includes compilation) {first_compile:.1f} s")
    rows.extend(lines + [""])
    print("\n".join(lines), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results_fit.md")
    args = parser.parse_args()
    n, epochs, reps = (20_000, 2, 3) if args.quick else (60_000, 5, 3)
    rng = np.random.RandomState(0)
    synth = (rng.normal(size=(n, 32)) @ rng.normal(size=(32, 784)) / 6).astype(np.float32)
    digits = (load_digits().data / 16.0).astype(np.float32)
    rows = [f"# bench_fit ({'quick' if args.quick else 'full'}), torch {torch.__version__}, "
            f"{time.strftime('%Y-%m-%d')}", "",
            "Contestants interleaved (one repetition of each, then the next); medians; ratio = contestant / "
            "reference.  The reference is a plain PyTorch loop over a pre-built tensor with fused Adam.", ""]
    run("synthetic", synth, epochs, reps, rows)
    run("digits", digits, 20, reps, rows)
    with open(args.out, "w") as f:
        f.write("\n".join(rows))


if __name__ == "__main__":
    main()
