"""skae's VAE against pythae's VAE with pythae's standard MNIST MLP, same data, same budget.

Architecture (pythae ``Encoder_VAE_MLP`` / ``Decoder_AE_MLP``): 784-512-(μ, log σ²), latent 16,
512-784 with a sigmoid, Bernoulli likelihood (pythae ``reconstruction_loss="bce"``), Adam lr 1e-3,
batch 100, the same number of epochs, no early stopping.  Data: ../shared/data/mnist_5000.npz
(75 % train, 25 % test, pixels / 255).  Each library's own importance-sampled estimate of the test
log p(x) is printed (both with K=1000 samples from q(z|x)).

    pip install pythae pydantic imageio cloudpickle   # optional, not a skae dependency
    python benchmarks/bench_pythae.py [--epochs 100]

The speed line compares time per epoch within the run (issue goal: skae at least 1.5x as fast).
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skae import VAE

torch.set_num_threads(1)
MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist_5000.npz")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--k", type=int, default=1000, help="importance samples for the log p(x) estimate")
    parser.add_argument("--out", default="benchmarks/results_pythae.md")
    args = parser.parse_args()
    from pythae.models import VAE as PythaeVAE
    from pythae.models import VAEConfig
    from pythae.models.nn.default_architectures import Decoder_AE_MLP, Encoder_VAE_MLP
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig

    d = np.load(MNIST)
    X = (d["X"] / 255.0).astype(np.float32)
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)

    torch.manual_seed(0)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce")
    model = PythaeVAE(config, encoder=Encoder_VAE_MLP(config), decoder=Decoder_AE_MLP(config))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = BaseTrainerConfig(output_dir=tmp, num_epochs=args.epochs, learning_rate=1e-3,
                                    per_device_train_batch_size=100, per_device_eval_batch_size=100,
                                    no_cuda=True, steps_saving=None, optimizer_cls="Adam")
        t = time.perf_counter()
        TrainingPipeline(training_config=trainer, model=model)(
            train_data=Xtr.reshape(-1, 1, 28, 28), eval_data=Xte[:100].reshape(-1, 1, 28, 28))
        t_pythae = time.perf_counter() - t
    model.eval()
    torch.manual_seed(1)
    # pythae's get_nll returns the mean importance-sampled log p(x) (a negative number), despite its name
    logp_pythae = model.get_nll(torch.as_tensor(Xte.reshape(-1, 1, 28, 28)), n_samples=args.k, batch_size=100)

    t = time.perf_counter()
    vae = VAE(latent_dim=16, hidden_dims=(512,), activation="relu", likelihood="bernoulli", lr=1e-3,
              batch_size=100, max_epochs=args.epochs, early_stopping=False, validation_fraction=0.0,
              random_state=0).fit(Xtr)
    t_skae = time.perf_counter() - t
    iwae = vae.score_samples(Xte, method="iwae", n_samples=args.k)
    elbo = vae.score_samples(Xte)

    lines = [
        f"# skae VAE vs pythae VAE, pythae's MNIST MLP (784-512-16), Bernoulli, {args.epochs} epochs, "
        f"batch 100, MNIST-5000 (3,750 train / 1,250 test), {time.strftime('%Y-%m-%d')}", "",
        "| library | test log p(x) estimate (nats/image, K importance samples) | skae test ELBO | fit s |",
        "|---|---|---|---|",
        f"| pythae 0.1.2 | {logp_pythae:.2f} (`get_nll`, K={args.k}) | | {t_pythae:.1f} |",
        f"| skae | {iwae.mean():.2f} (`score_samples(method='iwae')`, K={args.k}) | {elbo.mean():.2f} | {t_skae:.1f} |",
        "",
        f"difference skae − pythae: {iwae.mean() - logp_pythae:+.2f} nats/image (positive: skae's model is more likely)",
        "",
        f"per epoch (same run, one thread, same batches and steps): pythae {t_pythae / args.epochs:.3f} s, skae "
        f"{t_skae / args.epochs:.3f} s: skae is **{t_pythae / t_skae:.2f}x** as fast "
        "(pythae's time includes its per-epoch evaluation on 100 rows and saving the final model)",
    ]
    print("\n".join(lines))
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
