"""The fitted-state protocol: a fitted estimator as plain values, and back (for model files).

:mod:`skae.persistence` writes whatever :meth:`FittedStateMixin.get_fitted_state`
returns and rebuilds the estimator with :meth:`FittedStateMixin.from_fitted_state`;
it knows nothing else about the estimators.  Restoring sets only the attributes
named here, after checking each value, and builds the net the way ``fit`` does.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History
from torch import nn

from ._device import resolve_device, seeded
from ._inference import InferenceRunner
from ._params import check_no_bool_numbers, check_routed_keys
from ._scaling import Scaler
from .tabular import ColumnLayout

__all__ = ["FittedStateMixin"]


class FittedStateMixin:
    """Fitted attributes of skae's autoencoders, and ``get_fitted_state`` / ``from_fitted_state``.

    Variants add their own entries by extending ``get_fitted_state`` and
    overriding ``_restore_conditions`` / ``_after_restore``.
    """

    if TYPE_CHECKING:  # provided by the estimator class this mixin is part of
        accelerator: Any
        _routed_params: dict[str, Any]
        _sampler_cache: Any
        _validate_params: Callable[[], None]
        _regularizer_names: Callable[[], list[str]]
        get_params: Callable[..., dict[str, Any]]
        _model_spec: Callable[[int], Any]
        _build_training: Callable[..., Any]

    @property
    def history_(self) -> History:
        """skorch's training history (one row per epoch)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def module_(self) -> nn.Module:
        """The trained torch module (unwrapped from ``torch.compile``)."""
        check_is_fitted(self, "net_")
        module = self.net_.module_
        return getattr(module, "_orig_mod", module)

    @property
    def device_(self) -> str:
        """The device the model lives on (the ``device`` parameter, resolved at fit or load)."""
        check_is_fitted(self, "net_")
        if self.net_.device is None:  # placed by an accelerator
            return str(self.accelerator.device)
        return str(self.net_.device)

    @property
    def scaling_mean_(self) -> np.ndarray:
        """Per-feature offset subtracted inside the model."""
        return self.scaler_.mean

    @property
    def scaling_scale_(self) -> np.ndarray:
        """Per-feature divisor applied inside the model."""
        return self.scaler_.scale

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted model as plain values, numpy arrays and tensors.

        This is the protocol :mod:`skae.persistence` writes to a model file and
        :meth:`from_fitted_state` reads back: ``params`` (the parameters the
        model was fitted with), the fitted attributes, the module's and the
        objective's tensors, the corruption's prepared tensors, the history.
        """
        check_is_fitted(self, "net_")
        objective = self.net_.criterion_
        objective = getattr(objective, "_orig_mod", objective)
        corruption = objective.corruption
        names = getattr(self, "feature_names_in_", None)
        return {
            "params": dict(self._fit_params),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "image_shape": None if self.image_shape_ is None else list(self.image_shape_),
            "scaling_mean": self.scaler_.mean,
            "scaling_scale": self.scaler_.scale,
            "seed": int(self._seed),
            "n_train": int(self._n_train),
            "device": self.device_,
            "module": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
            "objective": {k: v.detach().cpu() for k, v in objective.state_dict().items()},
            "corruption": {} if corruption is None else {
                k: v.detach().cpu() for k, v in vars(corruption).items() if k.endswith("_") and isinstance(v, torch.Tensor)
            },
            "history": self.net_.history.to_list(),
            "training_codes": self.training_codes_,
            "training_conditions": self.training_conditions_,
            "net_overrides": dict(getattr(self, "_net_overrides", {})),
            "column_layout": None if getattr(self, "column_layout_", None) is None else self.column_layout_.to_state(),
        }

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any], device: str | None = None):
        """Rebuild a fitted estimator from :meth:`get_fitted_state`'s output.

        Parameters
        ----------
        state : dict
        device : str or None
            Where to put the weights; ``None`` means where they were trained,
            or the CPU (with a warning) when that device is not available.

        Raises
        ------
        ValueError, TypeError, KeyError
            The state does not describe a model of this class.
        """
        estimator = cls(**state["params"])
        estimator._restore(state, device)
        return estimator

    def _restore(self, state: dict[str, Any], device: str | None) -> None:
        self._validate_params()
        check_no_bool_numbers(self)
        check_routed_keys(type(self).__name__, self._routed_params, self._regularizer_names())
        n_features = _int(state["n_features_in"], "n_features_in")
        self.n_features_in_ = n_features
        if state["feature_names_in"] is not None:
            names = [str(n) for n in state["feature_names_in"]]
            if len(names) != n_features:
                raise ValueError("feature_names_in does not match n_features_in.")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        layout = state.get("column_layout")  # absent from files of skae before mixed-type tables
        if layout is not None:
            self.column_layout_ = ColumnLayout.from_state(layout)
            if self.column_layout_.names != [str(n) for n in state["feature_names_in"] or []]:
                raise ValueError("column_layout does not match feature_names_in.")
        width = n_features if layout is None else self.column_layout_.width
        shape = state["image_shape"]
        self.image_shape_ = None if shape is None else tuple(_int(s, "image_shape") for s in shape)
        mean, scale = (np.asarray(state[k], dtype=np.float64) for k in ("scaling_mean", "scaling_scale"))
        if mean.shape != (width,) or scale.shape != (width,):
            raise ValueError("the scaling arrays do not match n_features_in.")
        self.scaler_ = Scaler(mean, scale)
        self._fit_params = self.get_params(deep=False)
        self._seed, self._n_train = _int(state["seed"], "seed"), _int(state["n_train"], "n_train")
        self._restore_conditions(state)
        overrides = dict(state.get("net_overrides", {}))
        if set(overrides) - {"early_stopping", "max_epochs"}:
            raise ValueError(f"unexpected net settings {sorted(overrides)}.")
        self._net_overrides = overrides
        self.model_spec_ = self._model_spec(width)
        target = device or state["device"]
        if device is None and str(target).startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(f"The model was trained on {target!r}, which is not available; loading it on the CPU.",
                          stacklevel=4)
            target = "cpu"
        target = resolve_device(str(target))
        self._inference = InferenceRunner()
        with seeded(self._seed, target):  # weights are initialised, then overwritten: leave the user's RNG alone
            net = self._build_training(target)
        module = getattr(net.module_, "_orig_mod", net.module_)
        objective = getattr(net.criterion_, "_orig_mod", net.criterion_)
        module.load_state_dict(state["module"])
        objective.load_state_dict(state["objective"])
        module.to(target)
        objective.to(target)
        corruption = objective.corruption
        for key, value in state["corruption"].items():
            if corruption is None or not key.endswith("_") or not isinstance(value, torch.Tensor):
                raise ValueError(f"unexpected corruption state {key!r}.")
            setattr(corruption, key, value.to(target))
        net.history = History(state["history"])
        self.net_ = net
        self._sampler_cache = None
        codes = np.asarray(state["training_codes"])
        if codes.ndim != 2 or codes.shape[1] != self.model_spec_.latent_dim or codes.dtype.kind != "f":
            raise ValueError("training_codes do not match the latent size.")
        conditions = state["training_conditions"]
        if conditions is not None:
            conditions = np.asarray(conditions)
            if conditions.shape != (len(codes), self.model_spec_.cond_features):
                raise ValueError("training_conditions do not match the training codes.")
        self.training_codes_, self.training_conditions_ = codes, conditions

    def _restore_conditions(self, state: dict[str, Any]) -> None:
        """Conditional models restore their condition encoder here."""



def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be a non-negative int; got {value!r}.")
    return int(value)
