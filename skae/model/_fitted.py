"""The fitted model as one value: what ``fit`` made, what inference reads, what a model file holds.

An estimator keeps one fitted attribute, ``model_`` (a :class:`FittedModel`),
beside scikit-learn's ``n_features_in_`` / ``feature_names_in_``.  Inference
reads only this value, so ``set_params`` after ``fit`` cannot change what a
fitted model does; :meth:`FittedModel.to_state` / :meth:`FittedModel.from_state`
are the model-file protocol (:mod:`skae.persistence` writes and reads them).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from skorch.history import History
from torch import nn

from ..plugins.regularizers import rewrite_codes
from ..plugins.spec import ModelSpec
from ..tables._layout import ColumnLayout
from ..tables._scaling import Scaler
from . import sampling
from ._chunks import INFERENCE_CHUNK, LANE_VALUES, chunk_rows, run_chunks
from ._conditions import ConditionEncoder
from ._device import cpu_threads, resolve_device, seeded
from ._elbo import posterior_params
from ._residuals import checked_correlation, correlated_slots, summarise_training_rows
from .likelihoods import Likelihood

__all__ = ["FittedModel", "Builder", "TRAINING_CODES"]

#: training rows whose codes are kept for the mixture samplers
TRAINING_CODES = 5000
#: reconstruction rounds that fill a row's missing entries for a model trained on complete rows
FILL_ROUNDS = 3


class Builder(Protocol):
    """What rebuilds a model from a file as ``fit`` built it (:class:`skae.training._build.ModelBuilder`)."""

    def spec(self, n_features: int, image_shape: tuple[int, ...] | None, cond_features: int,
             missing_values: bool = False, layout: ColumnLayout | None = None) -> ModelSpec: ...

    def likelihood(self, layout: ColumnLayout | None) -> Likelihood: ...

    def net(self, model: FittedModel, device: str, built_plugins=None, *, missing: bool = False) -> Any: ...

    def module(self, spec: ModelSpec) -> nn.Module: ...


@dataclass(eq=False)
class FittedModel:
    """Everything a fitted estimator knows.

    Attributes
    ----------
    params : dict
        The estimator's parameters when it was fitted (what a model file stores).
    spec : ModelSpec
        Feature and latent sizes, likelihood, image shape (what plugins were built for).
    scaler : Scaler
        The scaling done inside the model.
    likelihood : Likelihood
        The reconstruction term, chosen once at fit.
    seed : int
        Seeds training, refits and the samplers.
    n_train : int
        Training rows.
    layout : ColumnLayout or None
        A mixed-type table's column layout (None for numeric data).
    image_shape : tuple (C, H, W) or None
    conditions : ConditionEncoder or None
        A conditional model's condition encoder.
    net : TrainingNet or None
        The skorch net: module, objective (``criterion_``), optimizer, history.
    refit_epochs : int or None
        After early stopping and a refit on every row: the epochs it trained.
    selection_history : skorch.History or None
        The history of the run early stopping ended.
    training_codes, training_conditions : ndarray or None
        Codes (and encoded conditions) of up to ``TRAINING_CODES`` training rows.
    residual_scale : ndarray or None
        Per-slot standard deviation of those rows' reconstruction errors (scaled
        units, observed entries): the spread an autoencoder's draws add.
    residual_correlation : ndarray or None
        A table's numeric slots: the correlation of those rows' reconstruction
        errors (k x k), which the noise of drawn rows keeps; None for arrays,
        tables with fewer than two or more than :data:`skae.model._residuals.CORRELATED_SLOTS` numeric
        slots, and model files written before it.
    """

    params: dict[str, Any]
    spec: ModelSpec
    scaler: Scaler
    likelihood: Likelihood
    seed: int
    n_train: int
    layout: ColumnLayout | None = None
    image_shape: tuple[int, ...] | None = None
    conditions: ConditionEncoder | None = None
    net: Any = None
    refit_epochs: int | None = None
    selection_history: History | None = None
    training_codes: np.ndarray | None = None
    training_conditions: np.ndarray | None = None
    residual_scale: np.ndarray | None = None
    residual_correlation: np.ndarray | None = None
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- the trained parts ------------------------------------------------------------

    @property
    def module(self) -> nn.Module:
        """The trained torch module (unwrapped from ``torch.compile``)."""
        module = self.net.module_
        return getattr(module, "_orig_mod", module)

    @property
    def objective(self):
        """The objective (skorch's ``criterion_``), unwrapped from ``torch.compile``."""
        objective = self.net.criterion_
        return getattr(objective, "_orig_mod", objective)

    @property
    def device(self) -> str:
        """Where the weights are (an accelerator's device when one placed them)."""
        if self.net.device is None:
            return str(self.net.accelerator.device)
        return str(self.net.device)

    def train_on_missing(self) -> None:
        """From now on the loss counts observed entries only (``partial_fit`` was given rows with holes)."""
        self.objective.missing = True

    def trained(self) -> None:
        """The weights changed: forget what was derived from the old ones (samplers, the float64 copy)."""
        self.derived = {}

    def __getstate__(self):
        return {**vars(self), "derived": {}}  # rebuilt on demand

    # -- forward computations ---------------------------------------------------------

    def run(self, fn, *sources, dtype=None, chunk: int = INFERENCE_CHUNK):
        """``fn(module, *tensor_chunks)`` over row chunks of ``sources``, as numpy arrays.

        Rows whose float32 result overflows are computed again in float64 (:func:`run_chunks`);
        a wide table's rows come fewer at a time where that leaves every bit as it is.
        """
        return run_chunks(self.module, fn, *sources, device=self.device, dtype=dtype, chunk=chunk,
                          exact=self._exact_module, row_values=LANE_VALUES)

    def _exact_module(self) -> nn.Module:
        """A float64 copy of the module (made once, for the rare rows float32 cannot score)."""
        if "float64 module" not in self.derived:
            self.derived["float64 module"] = copy.deepcopy(self.module).double().eval()
        return self.derived["float64 module"]

    def encoder_input(self, module, x, c):
        """``x`` as the encoder takes it: within the range seen at fit, missing entries (NaN) filled.

        A value beyond every training row's is clamped to the edge of the
        training range: the network never saw it, and its ReLU layers would
        carry it on linearly, so one extreme entry would move the code, and
        every value decoded from it, far outside the data (a row at 40 SDs
        in one column filling another column with 200 SDs).  The error
        terms that score a row compare its reconstruction with the values as
        given, so an extreme row still scores as extreme.

        A model trained on rows with missing entries fills them itself (a
        learned value per feature); one trained on complete rows gets them
        filled by its own reconstruction, starting from the column mean and
        repeated ``FILL_ROUNDS`` times, so the code reflects what the observed
        entries imply.
        """
        x = self._in_range(x)
        if module.missing_input or bool(torch.isfinite(x.sum())):  # one reduction: complete rows pay no mask
            return x
        missing = torch.isnan(x)
        if not bool(missing.any()):  # a sum past float32's range, not a hole
            return x
        filled = torch.where(missing, torch.zeros((), dtype=x.dtype, device=x.device), x)
        for _ in range(FILL_ROUNDS):
            filled = torch.where(missing, self.decoded(module, self._codes(module, filled, c), c), x)
        return filled

    def bounds(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Each feature's training range in scaled units, as tensors like ``like``; None when not kept."""
        key = f"bounds {like.dtype} {like.device}"
        if key not in self.derived:
            bounds = self.scaler.bounds()
            self.derived[key] = None if bounds is None else tuple(
                torch.as_tensor(b, dtype=like.dtype, device=like.device) for b in bounds)
        return self.derived[key]

    def _in_range(self, x):
        """``x`` clamped to the training range of each feature, in scaled units (NaN stays NaN)."""
        bounds = self.bounds(x)
        if bounds is None or x.ndim != 2 or x.shape[1] != len(bounds[0]):
            return x
        return torch.clamp(x, bounds[0], bounds[1])

    def output_in_range(self, out):
        """The decoder's output with its means within the training range (what scores compare with x)."""
        bounds = self.bounds(out)
        if bounds is None or out.ndim != 2 or out.shape[1] != len(bounds[0]):
            return out
        return self.likelihood.within(out, *bounds)

    def _codes(self, module, x, c):
        codes = posterior_params(module, x, c)[0] if self.spec.variational else module.encode(x, c)
        return rewrite_codes(self.objective.regularizers, codes, training=False)

    def codes(self, module, x, c):
        """The codes ``transform`` returns: the encoder output (posterior mean for VAEs), after regularizers."""
        return self._codes(module, self.encoder_input(module, x, c), c)

    def decoded(self, module, z, c):
        """Decoder output in scaled units (probabilities for Bernoulli models and non-numeric columns)."""
        return self.likelihood.mean(module.decode(z, c))

    def reconstructed(self, module, x, c):
        """Encode and decode, in scaled units."""
        return self.decoded(module, self.codes(module, x, c), c)

    def decode(self, Z: np.ndarray, C: np.ndarray | None) -> np.ndarray:
        """Decoded codes in X's units, as an array (encoded slots for a mixed-type table)."""
        return self.scaler.inverse_transform(self.run(self.decoded, Z, C))

    def draw(self, means: np.ndarray, rng: np.random.RandomState, sigma) -> np.ndarray:
        """Draws from p(x | z) around decoded ``means`` (X's units), within the training range.

        Bernoulli draws are 0 or 1 whatever the range of the data's values in [0, 1].
        """
        # a table's numeric noise correlated as its training rows' errors (a Cholesky factor: at most 256 slots)
        mixing = {} if self.residual_correlation is None else {"mixing": np.linalg.cholesky(self.residual_correlation)}
        draws = self.likelihood.draw(means, rng, sigma, self.scaler.scale, **mixing)
        return draws if self.likelihood.unit_interval else self.scaler.clip(draws)

    def encode_conditions(self, y, n_samples: int, owner: str) -> np.ndarray | None:
        """The encoded conditions of ``n_samples`` rows; None for an unconditional model (``y`` is ignored)."""
        if self.conditions is None:
            return None
        if y is None:
            raise ValueError(
                f"{owner} needs the condition y here too (e.g. transform(X, y), sample(n, y=label)); in a "
                "Pipeline route it with set_transform_request(condition=True)."
            )
        return self.conditions.transform(y, n_samples)

    def sampler(self, name: str) -> sampling.LatentSampler:
        """The latent sampler ``name`` ("prior" or "mixture"), built once."""
        key = f"sampler {name}"
        if key not in self.derived:
            self.derived[key] = sampling.latent_sampler(self, name)
        return self.derived[key]

    def train(self, data) -> None:
        """Train the net on ``data`` (a refit on every row follows when early stopping asked for one)."""
        net = self.net
        with cpu_threads():
            net.partial_fit(data)
            refit = dict(net.callbacks_).get("refit")
            if refit is not None and refit.pending_:
                refit.refit(net, data)
                self.refit_epochs, self.selection_history = refit.epochs_, refit.selection_history_
        self.remember_training_codes(data)

    def check_input(self, n_features, names) -> tuple[int, np.ndarray | None]:
        """``(n_features_in_, feature_names_in_)`` a model file declares, checked against this model."""
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features_in must be a positive int; got {n_features!r}.")
        width = self.layout.width if self.layout is not None else n_features
        if self.spec.n_features != width or (self.layout is not None and len(self.layout.names) != n_features):
            raise ValueError("the scaling arrays do not match n_features_in.")
        if names is None:
            return n_features, None
        names = [str(n) for n in names]
        if len(names) != n_features or (self.layout is not None and self.layout.names != names):
            raise ValueError("feature_names_in does not match n_features_in and the column layout.")
        return n_features, np.asarray(names, dtype=object)

    def remember_training_codes(self, data) -> None:
        """Keep the codes (and conditions) of up to ``TRAINING_CODES`` training rows: what mixture samplers fit.

        The rows are read a chunk of inference at a time (a wide table's are
        never all dense), which gives the codes one pass over them all would.
        """
        idx = np.random.RandomState(self.seed).permutation(len(data))[: min(len(data), TRAINING_CODES)]
        kept = summarise_training_rows(self, data.row_pieces(idx, chunk_rows(self.device, np.float32)))
        self.training_codes, self.training_conditions = kept.codes, kept.conditions
        if kept.scale is not None:
            self.residual_scale = kept.scale
        self.residual_correlation = kept.correlation
        self.trained()

    # -- model files --------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The model as plain values, numpy arrays and tensors (see :mod:`skae.persistence`)."""
        objective = self.objective
        corruption = objective.corruption
        refit = {} if self.refit_epochs is None else {"early_stopping": False, "max_epochs": self.refit_epochs}
        return {
            "params": dict(self.params),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "scaling_mean": self.scaler.mean,
            "scaling_scale": self.scaler.scale,
            "scaling_low": self.scaler.low,
            "scaling_high": self.scaler.high,
            "seed": int(self.seed),
            "n_train": int(self.n_train),
            "device": self.device,
            "module": {k: v.detach().cpu() for k, v in self.module.state_dict().items()},
            "objective": {k: v.detach().cpu() for k, v in objective.state_dict().items()},
            "corruption": {} if corruption is None else {
                k: v.detach().cpu() for k, v in vars(corruption).items() if k.endswith("_") and isinstance(v, torch.Tensor)
            },
            "history": self.net.history.to_list(),
            "training_codes": self.training_codes,
            "training_conditions": self.training_conditions,
            "residual_scale": self.residual_scale,
            "residual_correlation": self.residual_correlation,
            "net_overrides": refit,
            "missing": bool(objective.missing),
            "missing_input": bool(self.spec.missing_values),
            "column_layout": None if self.layout is None else self.layout.to_state(),
            **({} if self.conditions is None else {"conditions": self.conditions.get_state()}),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], builder: Builder, params: dict[str, Any],
                   device: str | None = None, *, conditional: bool = False) -> FittedModel:
        """Rebuild a fitted model from :meth:`to_state`'s output.

        ``builder`` builds, from an estimator with the parameters ``params`` the
        model was fitted with, the spec, the likelihood and the net the way
        ``fit`` does; the file's tensors are then loaded into them.

        Raises
        ------
        ValueError, TypeError, KeyError
            The state does not describe a model of this kind.
        """
        return _from_state(cls, state, builder, params, device, conditional)


def _from_state(cls, state: dict[str, Any], builder: Builder, params: dict[str, Any], device: str | None,
                conditional: bool) -> FittedModel:
    """:meth:`FittedModel.from_state`'s work: the spec, likelihood and net built as ``fit`` builds them, then loaded."""
    layout_state = state.get("column_layout")  # absent from files of skae before mixed-type tables
    layout = None if layout_state is None else ColumnLayout.from_state(layout_state)
    shape = state["image_shape"]
    image_shape = None if shape is None else tuple(_int(s, "image_shape") for s in shape)
    mean, scale = (np.asarray(state[k], dtype=np.float64) for k in ("scaling_mean", "scaling_scale"))
    if mean.ndim != 1 or mean.shape != scale.shape:
        raise ValueError("the scaling arrays do not match.")
    low, high = (None if state.get(k) is None else np.asarray(state[k], dtype=np.float64)  # absent before 0.1.1
                 for k in ("scaling_low", "scaling_high"))
    conditions = ConditionEncoder.from_state(state["conditions"]) if conditional else None
    overrides = dict(state.get("net_overrides", {}))
    if set(overrides) - {"early_stopping", "max_epochs"}:
        raise ValueError(f"unexpected net settings {sorted(overrides)}.")
    refit_epochs = None if not overrides else _int(overrides["max_epochs"], "max_epochs")
    spec = builder.spec(len(mean), image_shape, 0 if conditions is None else conditions.n_features_out,
                        bool(state.get("missing_input", False)), layout)
    model = cls(
        params=dict(params), spec=spec, scaler=Scaler(mean, scale, low, high), likelihood=builder.likelihood(layout),
        seed=_int(state["seed"], "seed"), n_train=_int(state["n_train"], "n_train"), layout=layout,
        image_shape=image_shape, conditions=conditions, refit_epochs=refit_epochs,
    )
    if layout is not None and layout.width != len(mean):
        raise ValueError("the scaling arrays do not match the column layout.")
    target = device or state["device"]
    if device is None and str(target).startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"The model was trained on {target!r}, which is not available; loading it on the CPU.",
                      stacklevel=5)
        target = "cpu"
    target = resolve_device(str(target))
    _check_weights(builder, spec, state["module"])  # before anything the file declares is allocated
    with seeded(model.seed, target):  # weights are initialised, then overwritten: leave the user's RNG alone
        model.net = builder.net(model, target, missing=bool(state.get("missing", False)))
    model.module.load_state_dict(state["module"])
    model.objective.load_state_dict(state["objective"])
    model.module.to(target)
    model.objective.to(target)
    corruption = model.objective.corruption
    for key, value in state["corruption"].items():
        if corruption is None or not key.endswith("_") or not isinstance(value, torch.Tensor):
            raise ValueError(f"unexpected corruption state {key!r}.")
        setattr(corruption, key, value.to(target))
    model.net.history = History(state["history"])
    codes = np.asarray(state["training_codes"])
    if codes.ndim != 2 or codes.shape[1] != spec.latent_dim or codes.dtype.kind != "f":
        raise ValueError("training_codes do not match the latent size.")
    training_conditions = state["training_conditions"]
    if training_conditions is not None:
        training_conditions = np.asarray(training_conditions)
        if training_conditions.shape != (len(codes), spec.cond_features):
            raise ValueError("training_conditions do not match the training codes.")
    model.training_codes, model.training_conditions = codes, training_conditions
    residual = state.get("residual_scale")  # absent from files of skae before missing values
    if residual is not None:
        residual = np.asarray(residual, dtype=np.float64)
        if residual.shape != (spec.n_features,):
            raise ValueError("residual_scale does not match the feature count.")
    model.residual_scale = residual
    # absent from files of skae before correlated draws
    model.residual_correlation = checked_correlation(state.get("residual_correlation"),
                                                     correlated_slots(model.likelihood, layout is not None))
    return model


def _check_weights(builder, spec: ModelSpec, weights) -> None:
    """Raise unless the file's module tensors have the shapes the declared parameters give (built on no memory)."""
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ValueError("the module's weights are not a dict of tensors.")
    with torch.device("meta"):
        probe = builder.module(spec)
    expected = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        wrong = sorted(set(expected) ^ set(found)) or [k for k in expected if expected[k] != found[k]]
        raise ValueError(f"the module's weights do not match its declared parameters (first: {wrong[0]!r}).")


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be a non-negative int; got {value!r}.")
    return int(value)
