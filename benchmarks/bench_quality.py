"""Model quality: AE vs PCA, conv vs dense, VAE likelihoods, CVAE class consistency,
anomaly detection vs IsolationForest and PCA.  Prints markdown tables and writes
them to benchmarks/results_quality.md.  MNIST rows use ../shared/data/mnist_5000.npz
when present and are skipped otherwise.

    python benchmarks/bench_quality.py [--quick]
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import VAE, AutoEncoder, AutoEncoderOutlierDetector, ConditionalVAE

torch.set_num_threads(1)
MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist_5000.npz")
OUT = []


def emit(*lines):
    for line in lines:
        print(line, flush=True)
        OUT.append(line)


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X / 16.0, y, (8, 8)
    if os.path.exists(MNIST):
        d = np.load(MNIST)
        yield "mnist_5000", d["X"] / 255.0, d["y"], (28, 28)


def reconstruction(quick):
    emit("## Reconstruction, latent 16: test MSE (25% held out)", "",
         "| data | PCA(16) | AutoEncoder (defaults) | ratio | conv AE | ratio | params dense / conv | AE fit s |",
         "|---|---|---|---|---|---|---|---|")
    for name, X, y, shape in datasets():
        Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
        pca = PCA(16).fit(Xtr)
        e_pca = mse(pca.inverse_transform(pca.transform(Xte)), Xte)
        t = time.perf_counter()
        ae = AutoEncoder(latent_dim=16, random_state=0, **({"max_epochs": 20} if quick else {})).fit(Xtr)
        t = time.perf_counter() - t
        conv = AutoEncoder(latent_dim=16, architecture="conv", architecture__image_shape=shape, hidden_dims=(),
                           random_state=0, **({"max_epochs": 20} if quick else {})).fit(Xtr)
        e_ae, e_conv = mse(ae.reconstruct(Xte), Xte), mse(conv.reconstruct(Xte), Xte)
        p = [sum(q.numel() for q in m.module_.parameters()) for m in (ae, conv)]
        emit(f"| {name} | {e_pca:.5f} | {e_ae:.5f} | {e_ae / e_pca:.2f} | {e_conv:.5f} | {e_conv / e_pca:.2f} "
             f"| {p[0]:,} / {p[1]:,} | {t:.1f} |")
    emit("")


def likelihood(quick):
    emit("## VAE test log-likelihood bounds (nats per image, Bernoulli, pixels in [0,1])", "",
         "| data | model | test ELBO | test IWAE (K=500) | fit s |", "|---|---|---|---|---|")
    for name, X, y, shape in datasets():
        Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
        for label, kw in [("VAE dense 16", {}), ("VAE conv 16", dict(architecture="conv", architecture__image_shape=shape,
                                                                        hidden_dims=()))]:
            t = time.perf_counter()
            vae = VAE(latent_dim=16, likelihood="bernoulli", random_state=0, **kw,
                      **({"max_epochs": 20} if quick else {})).fit(Xtr)
            t = time.perf_counter() - t
            elbo = vae.score_samples(Xte).mean()
            iwae = vae.score_samples(Xte[:1000], method="iwae", n_samples=500).mean()
            emit(f"| {name} | {label} | {elbo:.2f} | {iwae:.2f} | {t:.1f} |")
    emit("")


def conditional(quick):
    emit("## ConditionalVAE: share of samples a LogisticRegression assigns to the asked class", "",
         "| data | conditioning | prior | class-consistency | ELBO |", "|---|---|---|---|---|")
    for name, X, y, shape in datasets():
        clf = LogisticRegression(max_iter=3000).fit(X, y)
        for method in ("concat", "embedding", "film", "cross_attention"):
            cvae = ConditionalVAE(latent_dim=8, conditioning=method, conditional_prior=True, likelihood="bernoulli",
                                  random_state=0, **({"max_epochs": 20} if quick else {})).fit(X, y)
            rate = np.mean([np.mean(clf.predict(cvae.sample(100, y=k, random_state=k)) == k) for k in range(10)])
            emit(f"| {name} | {method} | learned | {rate:.3f} | {cvae.score_samples(X[:500], y[:500]).mean():.2f} |")
    emit("")


def anomaly(quick, seeds):
    emit("## Anomaly detection: ROC-AUC / average precision (mean over seeds)", "",
         "| data | IsolationForest | PCA recon. error | skae AE | skae AE trimmed | skae VAE (ELBO) |",
         "|---|---|---|---|---|---|")
    X, y = load_digits(return_X_y=True)
    bc = load_breast_cancer()
    epochs = {"max_epochs": 30} if quick else {}

    def digits_case(rng):  # class 0 normal, 5% of other digits as anomalies
        normal = X[y == 0] / 16.0
        other = X[y != 0] / 16.0
        anom = other[rng.choice(len(other), 20, replace=False)]
        return np.r_[normal, anom], np.r_[np.zeros(len(normal)), np.ones(len(anom))]

    def cancer_case(rng):
        Xb = (bc.data - bc.data.mean(0)) / bc.data.std(0)
        normal, mal = Xb[bc.target == 1], Xb[bc.target == 0]
        anom = mal[rng.choice(len(mal), 18, replace=False)]
        return np.r_[normal, anom], np.r_[np.zeros(len(normal)), np.ones(len(anom))]

    def swiss_case(rng):
        S, _ = make_swiss_roll(1000, noise=0.1, random_state=rng.randint(1000))
        anom = rng.uniform(S.min(0), S.max(0), size=(50, 3))
        return np.r_[S, anom], np.r_[np.zeros(len(S)), np.ones(len(anom))]

    def chords_case(rng):  # a 2-D sheet curved into 10-D; anomalies: midpoints of chords between sheet points
        t = rng.uniform(-1, 1, size=(1050, 2))
        W1, W2 = rng.normal(size=(2, 16)) * 1.5, rng.normal(size=(16, 10)) / 4
        S = np.tanh(t @ W1) @ W2
        anom = (S[1000:] + S[rng.permutation(1000)[:50]]) / 2
        return np.r_[S[:1000] + 0.01 * rng.normal(size=(1000, 10)), anom], np.r_[np.zeros(1000), np.ones(50)]

    for name, case, latent in [("digits (0 vs 5% others)", digits_case, 4), ("breast cancer (benign vs 5% malignant)", cancer_case, 4),
                               ("swiss roll + 5% uniform in its box", swiss_case, 2),
                               ("curved 2-D sheet in 10-D + 5% chord midpoints", chords_case, 2)]:
        res = {k: [] for k in ("if", "pca", "ae", "aet", "vae")}
        for seed in seeds:
            rng = np.random.RandomState(seed)
            Xa, ya = case(rng)
            scores = {}
            scores["if"] = -IsolationForest(random_state=seed).fit(Xa).score_samples(Xa)
            pca = PCA(latent).fit(Xa)
            scores["pca"] = ((pca.inverse_transform(pca.transform(Xa)) - Xa) ** 2).mean(1)
            # default architecture and training; only latent_dim and the seed are set
            ae = AutoEncoder(latent_dim=latent, random_state=seed, **epochs)
            scores["ae"] = -AutoEncoderOutlierDetector(ae).fit(Xa).score_samples(Xa)
            scores["aet"] = -AutoEncoderOutlierDetector(ae, trim_fraction=0.05).fit(Xa).score_samples(Xa)
            vae = VAE(latent_dim=latent, random_state=seed, **epochs)
            scores["vae"] = -AutoEncoderOutlierDetector(vae).fit(Xa).score_samples(Xa)
            for k, s in scores.items():
                res[k].append((roc_auc_score(ya, s), average_precision_score(ya, s)))
        cells = [f"{np.mean([r[0] for r in v]):.3f} / {np.mean([r[1] for r in v]):.3f}" for v in res.values()]
        emit(f"| {name} | " + " | ".join(cells) + " |")
    emit("")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=["reconstruction", "likelihood", "conditional", "anomaly"])
    parser.add_argument("--out", default=None, help="default: benchmarks/results_quality[_<only>].md")
    args = parser.parse_args()
    emit(f"# bench_quality ({'quick' if args.quick else 'full'}), torch {torch.__version__}, 1 thread", "")
    if "reconstruction" in args.only:
        reconstruction(args.quick)
    if "likelihood" in args.only:
        likelihood(args.quick)
    if "conditional" in args.only:
        conditional(args.quick)
    if "anomaly" in args.only:
        anomaly(args.quick, seeds=[0, 1, 2] if not args.quick else [0])
    out = args.out or "benchmarks/results_quality{}.md".format(
        "" if len(args.only) == 4 else "_" + "_".join(args.only))
    with open(out, "w") as f:
        f.write("\n".join(OUT) + "\n")


if __name__ == "__main__":
    main()
