"""The deterministic autoencoder: plain, sparse, contractive, denoising by parameters."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ..model.likelihoods import likelihood_names
from ..training._objectives import ReconstructionObjective
from ..training._params import DEFAULTS as D
from ..training._params import FAMILY_DEFAULTS, store_init_params
from ._base import BaseAutoEncoder
from ._docs import with_shared_parameters

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
        ELU reconstructs held-out rows better than ReLU here
        (benchmarks/results_generative.md); the VAEs default to ReLU.
    latent_activation : str or None, default=None
        Activation on the code ("sigmoid" for codes in (0, 1), needed by
        ``kl_sparsity``).
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss, averaged over features: squared error, or binary
        cross-entropy for data in [0, 1] (the decoder then outputs logits and
        reconstructions are probabilities).
    scaling : {"auto", "global", "standard", "minmax", "quantile"} or None, default="auto"
        Input scaling done inside the model and undone on output.  "global"
        centres each feature and divides by one overall standard deviation
        (keeps the relative geometry, like PCA); "quantile" maps each numeric
        column of a DataFrame through its training distribution onto a
        standard normal and back (:class:`skae.tabular.QuantileMap`; errors
        are then in those units); "auto" is no scaling for ``loss="bce"``,
        "standard" for the numeric columns of a DataFrame (a table's columns
        are in unrelated units; one-hot and 0/1 slots are never scaled), and
        for an array "global" when its columns share a range (pixels) or
        "standard" when they do not (benchmarks/results_scaling.md).
    %(shared_parameters)s

    Attributes
    ----------
    model_ : skae.model._fitted.FittedModel
        The fitted model as one value (spec, scaler, likelihood, net, seed,
        training codes); the attributes below are views of it.
    net_ : skorch.NeuralNet
        The training net (module, optimizer, history).
    history_ : skorch.History
        One row per epoch of the model's training (``train_loss``, ``dur``, and
        ``valid_loss`` when rows were held out).
    selection_history_ : skorch.History
        With ``refit``: the history of the run early stopping ended.
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
    model_spec_ : skae.spec.ModelSpec
        What the fitted model is: feature and latent sizes, likelihood, image shape.
    device_ : str
        The device the model lives on.

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
        "loss": [StrOptions(likelihood_names("loss"))],
        "latent_activation": [StrOptions({"sigmoid", "tanh", "relu"}), None],
    }

    def __init__(
        self,
        *,
        latent_dim=D.latent_dim,
        hidden_dims=D.hidden_dims,
        activation=FAMILY_DEFAULTS["AutoEncoder"]["activation"],
        latent_activation=None,
        loss="mse",
        scaling=D.scaling,
        handle_unknown=D.handle_unknown,
        architecture=D.architecture,
        regularizers=D.regularizers,
        corruption=D.corruption,
        max_epochs=D.max_epochs,
        batch_size=D.batch_size,
        lr=D.lr,
        optimizer=D.optimizer,
        early_stopping=D.early_stopping,
        validation_fraction=D.validation_fraction,
        refit=D.refit,
        patience=D.patience,
        tol=D.tol,
        device=D.device,
        random_state=D.random_state,
        verbose=D.verbose,
        callbacks=D.callbacks,
        warm_start=D.warm_start,
        compile=D.compile,
        accelerator=D.accelerator,
        **kwargs,
    ):
        store_init_params(self, locals())

    def _make_objective(self, likelihood, regularizers, corruption):
        return ReconstructionObjective(likelihood, regularizers, corruption)


AutoEncoder.__doc__ = with_shared_parameters(AutoEncoder.__doc__)
