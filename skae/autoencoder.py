"""The deterministic autoencoder: plain, sparse, contractive, denoising by parameters."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ._base import BaseAutoEncoder

__all__ = ["AutoEncoder"]


class AutoEncoder(BaseAutoEncoder):
    """A dense (or convolutional) autoencoder as a scikit-learn transformer.

    ``transform`` encodes, ``inverse_transform`` decodes.  Sparse, contractive,
    weight-penalised and denoising autoencoders are this class with
    ``regularizers`` and ``corruption`` set; both are plugins looked up by name.

    Parameters
    ----------
    latent_dim : int, default=2
        Size of the code.
    hidden_dims : sequence of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str, default="elu"
        One of "relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid".
    latent_activation : str or None, default=None
        Activation on the code ("sigmoid" for codes in (0, 1), needed by
        ``kl_sparsity``).
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss, averaged over features: squared error, or binary
        cross-entropy for data in [0, 1] (the decoder then outputs logits and
        reconstructions are probabilities).
    scaling : {"auto", "global", "standard", "minmax"} or None, default="auto"
        Input scaling done inside the model and undone on output.  "global"
        centres each feature and divides by one overall standard deviation
        (keeps the relative geometry, like PCA); "auto" is "global" for
        ``loss="mse"`` and no scaling for ``loss="bce"``.
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
    max_epochs : int, default=200
    batch_size : int or "full", default=128
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, default="adam"
        Its parameters route as ``optimizer__<param>``.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the data and stop when the
        validation loss has not improved by ``tol`` (relative) for
        ``patience`` epochs; the best epoch's weights are restored.
    validation_fraction : float, default=0.1
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
        ``random_state``.  See the README's "Scaling out" section.
    **kwargs
        Routed parameters ``<prefix>__<name>`` with prefix one of ``module``,
        ``optimizer``, ``callbacks``, ``iterator_train``, ``regularizers``,
        ``corruption``, ``architecture``.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The training net (module, optimizer, history).
    history_ : skorch.History
        One row per epoch (``train_loss``, ``valid_loss``, ``dur``).
    module_ : torch.nn.Module
        The trained encoder/decoder.
    n_features_in_ : int
        C·H·W for image input.
    image_shape_ : tuple (C, H, W) or None
        Shape of one image when X was given as (n, C, H, W) or (n, H, W), or
        ``architecture__image_shape``; such arrays are then accepted by every
        method and flattened inside.
    feature_names_in_ : ndarray of str
        Defined when X is a DataFrame with string column names.
    scaling_mean_, scaling_scale_ : ndarray of shape (n_features,)
    training_codes_ : ndarray
        Codes of up to 5,000 training samples (for :meth:`sample`).

    See Also
    --------
    skae.VAE : variational autoencoder.
    sklearn.decomposition.PCA : the linear baseline.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoEncoder(latent_dim=4, max_epochs=2, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 4)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    """

    _parameter_constraints = {
        **BaseAutoEncoder._parameter_constraints,
        "loss": [StrOptions({"mse", "bce"})],
        "latent_activation": [StrOptions({"sigmoid", "tanh", "relu"}), None],
    }

    def __init__(
        self,
        *,
        latent_dim=2,
        hidden_dims=(256, 128),
        activation="elu",
        latent_activation=None,
        loss="mse",
        scaling="auto",
        architecture="dense",
        regularizers=None,
        corruption=None,
        max_epochs=200,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        early_stopping=True,
        validation_fraction=0.1,
        patience=20,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        compile=False,
        accelerator=None,
        **kwargs,
    ):
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.latent_activation = latent_activation
        self.loss = loss
        self.scaling = scaling
        self.architecture = architecture
        self.regularizers = regularizers
        self.corruption = corruption
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.compile = compile
        self.accelerator = accelerator
        super().__init__(**kwargs)
