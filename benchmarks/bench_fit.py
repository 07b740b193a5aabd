"""Training and inference speed of skae against hand-written PyTorch, every row in one run.

Contestants run interleaved (one repetition of each, then the next), on one thread;
the tables report medians and ratios to a reference measured in the same run.

* fit: ``AutoEncoder()`` (ELU) / ``VAE()`` (ReLU) with defaults against a fused-Adam
  loop over pre-built tensors with the *same* activation and the same validation
  work (none: with 5 epochs early stopping is off by default, so no rows are held
  out), and the AutoEncoder with ReLU and no scaling against a ReLU loop (the
  bare training step).
* the default ``AutoEncoderOutlierDetector()`` on 10,000 x 50 (goal: within 30 s).
* transform: float64 and float32 input against a raw float32 encoder pass.
* the contractive penalty per epoch (digits, latent 32) against a plain
  autoencoder, and how much each way of computing it contracts the encoder.
* command-line start-up against a bare ``python -c pass``.

    python benchmarks/bench_fit.py            # 60,000 x 784 synthetic, 5 epochs, 3 reps
    python benchmarks/bench_fit.py --quick    # 20,000 rows, 2 epochs

PyOD's AutoEncoder is timed too when ``pyod`` is installed.  When CUDA is
available the fit and transform rows are repeated on the GPU.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from skae import VAE, AutoEncoder, plugins
from skae.losses import gaussian_log_likelihood, kl_standard_normal
from skae.regularizers import PenaltyContext

torch.set_num_threads(1)
HIDDEN, LATENT, BATCH = (256, 128), 16, 128
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU}


def mlp(sizes, activation):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def adam(params):
    return torch.optim.Adam(params, lr=1e-3, fused=True)


def reference(X, epochs, activation, validation, vae=False, device="cpu", seed=0, batch=BATCH):
    """A plain loop: shuffled batches of a pre-built tensor; with ``validation``, 10 % held out and scored each epoch.

    The VAE learns one log-scale per feature, as skae's default Gaussian likelihood does.
    """
    torch.manual_seed(seed)
    d = X.shape[1]
    enc = mlp([d, *HIDDEN, (2 if vae else 1) * LATENT], activation).to(device)
    dec = mlp([LATENT, *HIDDEN[::-1], d], activation).to(device)
    log_sigma = torch.zeros(X.shape[1], device=device, requires_grad=True)
    opt = adam([*enc.parameters(), *dec.parameters(), *([log_sigma] if vae else [])])
    Xt = torch.as_tensor(X, device=device)
    if validation:
        perm = torch.randperm(len(Xt), device=device)
        n_valid = len(Xt) // 10
        Xv, Xt = Xt[perm[:n_valid]], Xt[perm[n_valid:]]

    def loss_of(xb):
        if not vae:
            return (dec(enc(xb)) - xb).square().mean()
        mean, log_var = enc(xb).chunk(2, -1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        scale = log_sigma.clamp(min=np.log(1e-3))
        return (kl_standard_normal(mean, log_var) - gaussian_log_likelihood(xb, dec(z), scale)).mean()

    for _ in range(epochs):
        Xp = Xt[torch.randperm(len(Xt), device=device)]
        total = torch.zeros((), device=device)
        for i in range(0, len(Xp), batch):
            xb = Xp[i:i + batch]
            loss = loss_of(xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        if validation:
            with torch.no_grad():
                float(sum(loss_of(Xv[i:i + 4096]) * len(Xv[i:i + 4096]) for i in range(0, len(Xv), 4096)))
        float(total)
    return enc


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleave(contestants, reps):
    times = {name: [] for name in contestants}
    outputs = {}
    for _ in range(reps):
        for name, fn in contestants.items():
            seconds, outputs[name] = timed(fn)
            times[name].append(seconds)
    return {k: statistics.median(v) for k, v in times.items()}, outputs


def pyod_ae(X, epochs):
    try:
        from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder
    except ImportError:
        return None
    return PyODAutoEncoder(hidden_neuron_list=[*HIDDEN, LATENT], epoch_num=epochs, batch_size=BATCH, batch_norm=False,
                           dropout_rate=0.0, preprocessing=False, optimizer_params={}, device="cpu", verbose=0,
                           random_state=0).fit(X)


def table(rows, title):
    lines = [f"### {title}", "", "| contestant | median s | reference | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {ta:.3f} | {b} {tb:.3f} s | **{ta / tb:.2f}** |" for a, ta, b, tb in rows]
    return lines + [""]


def fit_rows(X, epochs, reps, device="cpu"):
    bare = dict(latent_dim=LATENT, hidden_dims=HIDDEN, batch_size=BATCH, max_epochs=epochs, random_state=0, device=device)
    defaults = dict(latent_dim=LATENT, max_epochs=epochs, random_state=0, device=device)
    act, vact, default_batch = AutoEncoder().activation, VAE().activation, AutoEncoder().batch_size
    # the defaults hold rows out only when early stopping can act (max_epochs > 2 * patience)
    valid = AutoEncoder(max_epochs=epochs).get_params()["patience"] * 2 < epochs
    extra = (" + validation" if valid else "") + f", batch {default_batch}"
    ref_ae, ref_vae = f"ref AE {act}{extra}", f"ref VAE {vact}, per-feature scale{extra}"
    # warm-up (lazy initialisation, allocator) outside the timings
    reference(X[:512], 1, act, valid, device=device), AutoEncoder(**{**defaults, "max_epochs": 1}).fit(X[:512])
    contestants = {
        "ref AE relu": lambda: reference(X, epochs, "relu", False, device=device),
        "skae AE relu, no validation": lambda: AutoEncoder(activation="relu", early_stopping=False, validation_fraction=0.0,
                                                           scaling=None, **bare).fit(X),
        ref_ae: lambda: reference(X, epochs, act, valid, device=device, batch=default_batch),
        "skae AutoEncoder() defaults": lambda: AutoEncoder(**defaults).fit(X),
        ref_vae: lambda: reference(X, epochs, vact, valid, vae=True, device=device, batch=default_batch),
        "skae VAE() defaults": lambda: VAE(**defaults).fit(X),
    }
    if device == "cpu":
        contestants["PyOD AutoEncoder (relu, no validation)"] = lambda: pyod_ae(X, epochs)
    med, out = interleave(contestants, reps)
    rows = [("skae AE relu, no validation", med["skae AE relu, no validation"], "ref AE relu", med["ref AE relu"]),
            ("skae AutoEncoder() defaults", med["skae AutoEncoder() defaults"], ref_ae, med[ref_ae]),
            ("skae VAE() defaults", med["skae VAE() defaults"], ref_vae, med[ref_vae])]
    if out.get("PyOD AutoEncoder (relu, no validation)") is not None:
        rows.append(("PyOD AutoEncoder (relu, no validation)", med["PyOD AutoEncoder (relu, no validation)"],
                     "ref AE relu", med["ref AE relu"]))
    return rows, out["skae AutoEncoder() defaults"], out[ref_ae]


def transform_rows(X, ae, enc, reps, device="cpu"):
    X64, X32 = X.astype(np.float64), X.astype(np.float32)

    def raw():
        with torch.inference_mode():
            return enc(torch.as_tensor(X32, device=device)).cpu().numpy()

    med, _ = interleave({"raw": raw, "f64": lambda: ae.transform(X64), "f32": lambda: ae.transform(X32)}, reps)
    return [("`transform`, float64 input", med["f64"], "raw float32 encoder pass", med["raw"]),
            ("`transform`, float32 input", med["f32"], "raw float32 encoder pass", med["raw"])]


def contractive_rows(reps):
    X = load_digits().data
    kw = dict(latent_dim=32, max_epochs=4, early_stopping=False, random_state=0)
    contestants = {
        "plain": lambda: AutoEncoder(**kw).fit(X),
        "contractive (default: projection here)": lambda: AutoEncoder(regularizers=["contractive"], **kw).fit(X),
        "contractive, method='exact'": lambda: AutoEncoder(regularizers=["contractive"],
                                                           regularizers__contractive__method="exact", **kw).fit(X),
        "README sparse model (l1_activity + contractive)": lambda: AutoEncoder(
            regularizers=["l1_activity", "contractive"], regularizers__contractive__weight=1e-3, **kw).fit(X),
    }
    med, _ = interleave(contestants, reps)
    rows = [(f"{k}, per epoch", v / 4, "plain AutoEncoder, per epoch", med["plain"] / 4)
            for k, v in med.items() if k != "plain"]
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
    quality = ["| weight | training penalty | test ‖J‖²_F (exact) | test MSE |", "|---|---|---|---|"]
    runs = [(None, "none", None)] + [(w, label, label) for w in (1e-2, 1e-1) for label in ("projection", "exact")]
    for weight, label, extra in runs:  # the unregularized model once
        est = AutoEncoder(latent_dim=32, max_epochs=40, random_state=0, **(
            {} if extra is None else {"regularizers": {"contractive": weight}, "regularizers__contractive__method": extra}))
        est.fit(Xtr)
        m = est.module_
        x = torch.as_tensor(est.scaler_.transform(Xte[:200]), dtype=torch.float32)
        ctx = PenaltyContext(m, x, m.encode(x), lambda a, c: m.encode(a, c))
        jac = float(plugins.get("regularizer", "contractive").factory(method="exact").penalty(ctx).detach())
        mse = float(np.mean((est.reconstruct(Xte) - Xte) ** 2))
        quality.append(f"| {weight if extra else '-'} | {label} | {jac:.2f} | {mse:.3f} |")
    return rows, quality


def cli_rows(reps):
    def run(*args):
        return lambda: subprocess.run([sys.executable, *args], capture_output=True, check=True)

    med, _ = interleave({"python": run("-c", "pass"), "help": run("-m", "skae", "--help"),
                         "fit help": run("-m", "skae", "fit", "--help"), "plugins": run("-m", "skae", "plugins")}, reps)
    return [("`skae --help`", med["help"], "`python -c pass`", med["python"]),
            ("`skae fit --help`", med["fit help"], "`python -c pass`", med["python"]),
            ("`skae plugins` (imports torch for the built-in plugins)", med["plugins"], "`python -c pass`", med["python"])]


def detector_rows():
    from skae import AutoEncoderOutlierDetector

    rng = np.random.RandomState(0)
    X = rng.normal(size=(10_000, 8)) @ rng.normal(size=(8, 50)) + 0.1 * rng.normal(size=(10_000, 50))
    seconds, det = timed(lambda: AutoEncoderOutlierDetector(random_state=0).fit(X))
    score_s, _ = timed(lambda: det.score_samples(X))
    return ["### the default detector, 10,000 x 50 (goal: fit within 30 s on one thread)", "",
            "| what | s | goal s | ratio |", "|---|---|---|---|",
            f"| `AutoEncoderOutlierDetector().fit` ({len(det.estimators_)} members) | {seconds:.1f} | 30 | "
            f"**{seconds / 30:.2f}** |", f"| `score_samples` on the same rows | {score_s:.2f} | | |", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results_fit.md")
    args = parser.parse_args()
    n, epochs = (20_000, 2) if args.quick else (60_000, 5)
    rng = np.random.RandomState(0)
    synth = (rng.normal(size=(n, 32)) @ rng.normal(size=(32, 784)) / 6).astype(np.float32)
    lines = [f"# bench_fit ({'quick' if args.quick else 'full'}), torch {torch.__version__}, 1 thread, "
             f"{time.strftime('%Y-%m-%d')}", "",
             "Contestants interleaved (one repetition of each, then the next), medians of "
             f"{args.reps}; ratio = contestant / reference measured in the same run.", ""]

    def emit(block):
        lines.extend(block)
        print("\n".join(block), flush=True)

    rows, ae, ref_enc = fit_rows(synth, epochs, args.reps)
    emit(table(rows, f"fit: synthetic {n:,} x 784, {epochs} epochs (bare rows: batch {BATCH}; defaults: their batch size)"))
    emit(table(transform_rows(synth[:20_000], ae, ae.module_.encoder, max(args.reps, 5)),
               "transform: 20,000 x 784"))
    rows, quality = contractive_rows(args.reps)
    emit(table(rows, "contractive penalty: digits 1,797 x 64, latent 32, default hidden layers"))
    emit(["How much each way of computing the penalty contracts the encoder (digits, 25 % held out, 40 epochs):", "",
          *quality, ""])
    emit(table(cli_rows(max(args.reps, 5)), "command-line start-up"))
    emit(detector_rows())
    if torch.cuda.is_available():
        rows, ae, _ = fit_rows(synth, epochs, args.reps, device="cuda")
        emit(table(rows, f"CUDA ({torch.cuda.get_device_name()}): fit, {n:,} x 784, {epochs} epochs"))
        emit(table(transform_rows(synth[:20_000], ae, ae.module_.encoder, 5, device="cuda"), "CUDA: transform"))
    else:
        emit(["CUDA: not available on this machine; the CUDA path was not measured here.", ""])
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
