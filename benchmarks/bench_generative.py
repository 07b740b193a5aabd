"""Generative quality with default settings, in one run and one report.

1. VAE likelihood: skae ``VAE(latent_dim=16, hidden_dims=(512,), likelihood="bernoulli")`` with
   otherwise default settings against pythae's VAE with the same MLP (784-512-16), on binarized
   MNIST-5000 (pixels > 0.5, 75 % train / 25 % test), at 30 and 100 epochs: test -ELBO and
   -log p(x) estimated by importance sampling with K = 1000 (each library's own estimator).
2. Reconstruction: ``AutoEncoder(latent_dim=16)`` test MSE against PCA(16), digits and MNIST-5000.
3. ConditionalVAE with defaults (latent 8), every conditioning method, Gaussian (default) and
   Bernoulli likelihood, digits and MNIST-5000: the share of ``sample(20, y=k)`` that a
   LogisticRegression fitted on the real training images assigns to k (class consistency), and
   the share of test rows decoded with the next class, ``inverse_transform(transform(X, y), y + 1)``,
   assigned to that class (counterfactuals).
4. Sample quality: Fréchet distance between real test images and 1,000 samples in the feature
   space of an MLPClassifier's last hidden layer (fitted on the real training images), for
   ``sampler="prior"`` and ``sampler="mixture"``.

    python benchmarks/bench_generative.py [--quick] [--only likelihood reconstruction conditional samples]

pythae is optional (``pip install pythae``): without it the likelihood rows show skae alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import scipy.linalg
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skae import VAE, AutoEncoder, ConditionalVAE

torch.set_num_threads(1)
HERE = pathlib.Path(__file__).parent
MNIST = HERE.parent.parent / "shared" / "data" / "mnist_5000.npz"
METHODS = ("concat", "film", "embedding", "cross_attention")
OUT: list[str] = []


def emit(*lines):
    for line in lines:
        print(line, flush=True)
        OUT.append(line)


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X / 16.0, y
    if MNIST.exists():
        d = np.load(MNIST)
        yield "MNIST-5000", d["X"] / 255.0, d["y"]


# ------------------------------------------------------------------ 1. likelihood against pythae


def pythae_vae(Xtr, Xte, epochs, seed=0):
    from pythae.models import VAE as PythaeVAE
    from pythae.models import VAEConfig
    from pythae.models.nn.default_architectures import Decoder_AE_MLP, Encoder_VAE_MLP
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig

    logging.getLogger("pythae").setLevel(logging.ERROR)
    torch.manual_seed(seed)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce")
    model = PythaeVAE(config, encoder=Encoder_VAE_MLP(config), decoder=Decoder_AE_MLP(config))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = BaseTrainerConfig(output_dir=tmp, num_epochs=epochs, learning_rate=1e-3,
                                    per_device_train_batch_size=100, per_device_eval_batch_size=100, no_cuda=True,
                                    steps_saving=None, optimizer_cls="Adam")
        start = time.perf_counter()
        TrainingPipeline(training_config=trainer, model=model)(
            train_data=Xtr.reshape(-1, 1, 28, 28), eval_data=Xte[:100].reshape(-1, 1, 28, 28))
        seconds = time.perf_counter() - start
    model.eval()
    x = torch.as_tensor(Xte.reshape(-1, 1, 28, 28))
    with torch.no_grad():  # pythae's loss is the per-image negative ELBO with one z draw: average 20 draws
        torch.manual_seed(1)
        neg_elbo = np.mean([float(model({"data": x}).loss) for _ in range(20)])
    torch.manual_seed(1)
    # get_nll returns the mean importance-sampled log p(x) (despite its name)
    logp = model.get_nll(x, n_samples=1000, batch_size=100)
    return neg_elbo, -logp, seconds


def likelihood(quick):
    if not MNIST.exists():
        emit("MNIST-5000 not found: likelihood rows skipped.", "")
        return
    d = np.load(MNIST)
    X = (d["X"] / 255.0 > 0.5).astype(np.float32)
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
    emit("## 1. VAE likelihood on binarized MNIST-5000 (3,750 train / 1,250 test), 784-512-16 MLP, Bernoulli", "",
         "| epochs | model | test -ELBO (nats) | test -log p(x), K=1000 | fit s |", "|---|---|---|---|---|")
    for epochs in ((5,) if quick else (30, 100)):
        try:
            neg_elbo, nll, seconds = pythae_vae(Xtr, Xte, epochs)
            emit(f"| {epochs} | pythae 0.1.2 VAE (batch 100) | {neg_elbo:.2f} | {nll:.2f} | {seconds:.1f} |")
        except ImportError:
            emit(f"| {epochs} | pythae not installed | | | |")
        start = time.perf_counter()
        vae = VAE(latent_dim=16, hidden_dims=(512,), likelihood="bernoulli", max_epochs=epochs, random_state=0).fit(Xtr)
        seconds = time.perf_counter() - start
        elbo = vae.score_samples(Xte, n_samples=20).mean()
        logp = vae.score_samples(Xte, method="iwae", n_samples=1000).mean()
        emit(f"| {epochs} | skae VAE, defaults ({len(vae.history_)} epochs run) | {-elbo:.2f} | {-logp:.2f} | "
             f"{seconds:.1f} |")
    emit("")


# ------------------------------------------------------------------ 2. reconstruction


def reconstruction(quick):
    emit("## 2. Reconstruction, latent 16: test MSE (25 % held out)", "",
         "| data | PCA(16) | AutoEncoder(latent_dim=16) | ratio | epochs run | fit s |", "|---|---|---|---|---|---|")
    for name, X, _ in datasets():
        Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
        pca = PCA(16).fit(Xtr)
        e_pca = np.mean((pca.inverse_transform(pca.transform(Xte)) - Xte) ** 2)
        start = time.perf_counter()
        ae = AutoEncoder(latent_dim=16, random_state=0, **({"max_epochs": 10} if quick else {})).fit(Xtr)
        seconds = time.perf_counter() - start
        e_ae = np.mean((ae.reconstruct(Xte) - Xte) ** 2)
        emit(f"| {name} | {e_pca:.5f} | {e_ae:.5f} | **{e_ae / e_pca:.2f}** | {len(ae.history_)} | {seconds:.1f} |")
    emit("")


# ------------------------------------------------------------------ 3. conditional models


def conditional(quick):
    emit("## 3. ConditionalVAE(latent_dim=8) with defaults: class consistency and counterfactuals", "",
         "Class consistency: share of `sample(20, y=k)` (k = 0..9) a LogisticRegression fitted on the real training "
         "images assigns to k.  Counterfactuals: share of test rows, encoded with their class and decoded with "
         "the next one, assigned to the new class.", "",
         "| data | conditioning | likelihood | class consistency | counterfactuals | test ELBO | fit s |",
         "|---|---|---|---|---|---|---|")
    for name, X, y in datasets():
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        clf = LogisticRegression(max_iter=3000).fit(Xtr, ytr)
        for likelihood_ in ("gaussian", "bernoulli"):
            for method in METHODS:
                start = time.perf_counter()
                cvae = ConditionalVAE(latent_dim=8, conditioning=method, likelihood=likelihood_, random_state=0,
                                      **({"max_epochs": 5} if quick else {})).fit(Xtr, ytr)
                seconds = time.perf_counter() - start
                consistency = np.mean([np.mean(clf.predict(cvae.sample(20, y=k, random_state=k)) == k)
                                       for k in range(10)])
                target = (yte + 1) % 10
                counterfactual = np.mean(clf.predict(cvae.inverse_transform(cvae.transform(Xte, yte), target)) == target)
                elbo = cvae.score_samples(Xte, yte).mean()
                emit(f"| {name} | {method} | {likelihood_} | {consistency:.3f} | {counterfactual:.3f} | {elbo:.1f} | "
                     f"{seconds:.1f} |")
    emit("")


# ------------------------------------------------------------------ 4. sample quality


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root)))


def samples(quick):
    emit("## 4. Sample quality: Fréchet distance to real test images (lower is better)", "",
         "Features: the last hidden layer (64 units) of an MLPClassifier fitted on the real training images. "
         "1,000 samples per model (100 per class for the conditional model).", "",
         "| data | model | sampler | Fréchet distance | class consistency |", "|---|---|---|---|---|")
    for name, X, y in datasets():
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp = MLPClassifier(hidden_layer_sizes=(256, 64), max_iter=200 if not quick else 20, random_state=0)
            mlp.fit(Xtr, ytr)

        def features(Z):
            h = Z
            for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
                h = np.maximum(h @ W + b, 0)
            return h

        real = features(Xte)
        short = {"max_epochs": 5} if quick else {}
        for likelihood_ in ("gaussian", "bernoulli"):
            vae = VAE(latent_dim=8, likelihood=likelihood_, random_state=0, **short).fit(Xtr)
            cvae = ConditionalVAE(latent_dim=8, likelihood=likelihood_, random_state=0, **short).fit(Xtr, ytr)
            labels = np.repeat(np.arange(10), 100)
            for sampler in ("prior", "mixture"):
                drawn = vae.sample(1000, random_state=0, sampler=sampler)
                emit(f"| {name} | VAE, {likelihood_} | {sampler} | {frechet(real, features(drawn)):.2f} | |")
                drawn = cvae.sample(1000, y=labels, random_state=0, sampler=sampler)
                consistency = np.mean(mlp.predict(drawn) == labels)
                emit(f"| {name} | ConditionalVAE, {likelihood_} | {sampler} | {frechet(real, features(drawn)):.2f} | "
                     f"{consistency:.3f} |")
    emit("")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=["likelihood", "reconstruction", "conditional", "samples"])
    parser.add_argument("--out", default=str(HERE / "results_generative.md"))
    args = parser.parse_args()
    emit(f"# bench_generative ({'quick' if args.quick else 'full'}), torch {torch.__version__}, 1 thread, "
         f"{time.strftime('%Y-%m-%d')}", "")
    for part in ("likelihood", "reconstruction", "conditional", "samples"):
        if part in args.only:
            globals()[part](args.quick)
    if len(args.only) == 4 and not args.quick:
        pathlib.Path(args.out).write_text("\n".join(OUT) + "\n")


if __name__ == "__main__":
    main()
