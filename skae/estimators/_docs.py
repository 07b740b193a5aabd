"""Docstrings of the parameters every estimator shares, written once.

Each estimator's docstring has a ``%(shared_parameters)s`` line where these go,
so ``help(VAE)`` and the API reference describe every parameter of every class
(as skorch does for its nets) without copies drifting apart.
"""

from __future__ import annotations

__all__ = ["SHARED_PARAMETERS", "VAE_PARAMETERS", "with_shared_parameters"]

SHARED_PARAMETERS = """\
    handle_unknown : {"error", "ignore"}, default="error"
        Categories of a categorical column not seen in ``fit``: an error, or
        ("ignore") encoded as no known category, whose reconstruction error is
        that of the least likely category (so such rows score as unusual).
        Only for DataFrames with categorical columns (:mod:`skae.tabular`).
    architecture : str or callable, default="dense"
        "dense", "conv" (with ``architecture__image_shape=(C, H, W)``,
        ``architecture__channels``), a registered plugin name, or a builder
        callable (see :mod:`skae.architectures`).
    regularizers : str, list of str, dict or None, default=None
        Regularizer plugins, e.g. ``["l1_activity", "contractive"]``; their
        parameters route as ``regularizers__<name>__<param>``.  A dict maps
        names to weights.
    corruption : str or None, default=None
        Input corruption during training ("gaussian", "masking",
        "salt_and_pepper" or a plugin); parameters as ``corruption__<param>``.
    max_epochs : int or "auto", default="auto"
        "auto": 200, except on a DataFrame with categorical, boolean or
        datetime columns, where the epochs are about 4,000 steps of
        ``batch_size`` rows (at most 200, at least 5): a large table's model
        is as good after those, in half the time (benchmarks/results_synthetic.md).
    batch_size : int or "full", default=64
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, default="adam"
        Its parameters route as ``optimizer__<param>``.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the rows and stop when the
        validation loss has not improved by ``tol`` (relative) for ``patience``
        epochs.  "auto": only when ``max_epochs`` exceeds twice ``patience``;
        below that, early stopping has little room to act and the held-out rows
        are worth more as training data.  Rows are held out only for early stopping.
    validation_fraction : float, default=0.1
    refit : bool, default=True
        After early stopping picked the number of epochs, train again on every
        row (held-out ones included), from the same initial weights, for that
        many epochs.  Costs up to twice the training time; ``selection_history_``
        keeps the first run's history.
    patience : int, default=20
    tol : float, default=1e-4
    device : str, default="cpu"
        "cpu", "cuda", "cuda:N" or "auto" (CUDA when available).
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling, splits and corruption; the
        global torch RNG is left untouched.
    verbose : int, default=0
        0 is silent; 1 prints a line per epoch (train/valid loss, duration,
        early-stopping notices); 2 adds a per-batch progress bar (skorch's
        ``ProgressBar``).
    callbacks : list or None, default=None
        skorch callbacks; their parameters route as ``callbacks__<name>__<param>``.
    warm_start : bool, default=False
        ``fit`` continues training instead of starting again.
    compile : bool, default=False
        Train with ``torch.compile`` (skorch's ``compile=True``): the objective
        (encoder, decoder and loss) is compiled on the first batch.  Measured
        in benchmarks/results_fit.md; on CPU MLPs it brings no speed-up.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``):
        multi-GPU / multi-node data parallelism under ``accelerate launch``,
        mixed precision.  The accelerator then places the model (``device`` is
        ignored); each process takes its share of every batch, so set
        ``random_state``.  See the user guide's "Scaling out" page (docs/guide/scaling.rst).
    **kwargs
        Routed parameters ``<prefix>__<name>`` with prefix one of ``module``,
        ``optimizer``, ``callbacks``, ``iterator_train``, ``regularizers``,
        ``corruption``, ``architecture``.
"""


VAE_PARAMETERS = """\
    latent_dim : int, default=2
        Size of the code: the number of latent Gaussians.
    hidden_dims : sequence of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str, default="relu"
        ReLU learns the likelihood faster than ELU and ties with it later
        (benchmarks/results_generative.md).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        "bernoulli" for data in [0, 1] (images): the decoder outputs logits.
    sigma0 : float, default=1.0
        Gaussian decoder scale σ0 in the model's scaled units: its starting
        value when learned, its value when fixed (``learn_sigma0=False``).
    learn_sigma0 : bool or "per_feature", default="per_feature"
        Learn σ0 with the rest of the model: one scale per feature
        ("per_feature"), one for all (True), or keep ``sigma0`` fixed (False).
        A learned scale makes the ELBO a calibrated likelihood and balances the
        reconstruction term against the KL term by itself: with a fixed small
        σ0 the reconstruction term dwarfs the KL, the code carries everything,
        and a conditional model learns to ignore its condition
        (benchmarks/results_generative.md).  It stays above
        ``skae.modules.SIGMA_FLOOR``.
    beta : float, default=1.0
        Weight of the KL term (β-VAE for β > 1).
    n_mc_samples : int, default=1
        Monte-Carlo samples K of the reconstruction term per training step.
    scaling : {"auto", "global", "standard", "minmax", "quantile"} or None, default="auto"
        Input scaling done inside the model and undone on output (see
        :class:`skae.AutoEncoder`): "auto" is none for a Bernoulli
        likelihood; for a Gaussian one, "global" or "standard" for an array
        as :class:`skae.AutoEncoder` chooses, and "quantile" for the numeric
        columns of a DataFrame: each enters the model
        mapped onto a standard normal through its training distribution, so
        generated rows follow its shape (benchmarks/results_synthetic.md).
"""


def with_shared_parameters(doc: str | None) -> str | None:
    """``doc`` with its ``%(shared_parameters)s`` (and ``%(vae_parameters)s``) lines filled in."""
    if doc is None:
        return None
    doc = doc.replace("    %(vae_parameters)s\n", VAE_PARAMETERS)
    return doc.replace("    %(shared_parameters)s\n", SHARED_PARAMETERS)
