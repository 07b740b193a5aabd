"""The fitted attributes an estimator documents, as views of its one fitted value, and its model files.

scikit-learn users read ``net_``, ``history_``, ``module_`` and friends;
they are properties over ``model_`` (:class:`skae.model._fitted.FittedModel`), so a
fitted estimator holds one fitted value besides scikit-learn's
``n_features_in_`` / ``feature_names_in_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skorch.history import History
from torch import nn

from ..model._fitted import FittedModel
from ..plugins.spec import ModelSpec
from ..tables._layout import ColumnLayout
from ..tables._scaling import Scaler
from ..training._build import ModelBuilder

__all__ = ["FittedAttributes"]


class FittedAttributes:
    """The fitted attributes an estimator documents, as views of its one fitted value ``model_``, and model files."""

    model_: FittedModel
    #: conditional models fit a condition encoder and read a model-file entry for it
    _conditional = False

    def __sklearn_is_fitted__(self) -> bool:
        return "model_" in vars(self)

    def _fitted(self) -> FittedModel:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.model_

    @property
    def net_(self):
        """The training net (skorch ``NeuralNet``: module, objective, optimizer, history)."""
        return self._fitted().net

    @property
    def module_(self) -> nn.Module:
        """The trained torch module (unwrapped from ``torch.compile``)."""
        return self._fitted().module

    @property
    def history_(self) -> History:
        """skorch's training history (one row per epoch)."""
        return self._fitted().net.history

    @property
    def device_(self) -> str:
        """The device the model lives on (the ``device`` parameter, resolved at fit or load)."""
        return self._fitted().device

    @property
    def model_spec_(self) -> ModelSpec:
        """What the fitted model is: feature and latent sizes, likelihood, image shape."""
        return self._fitted().spec

    @property
    def scaler_(self) -> Scaler:
        """The scaling done inside the model."""
        return self._fitted().scaler

    @property
    def scaling_mean_(self) -> np.ndarray:
        """Per-feature offset subtracted inside the model."""
        return self._fitted().scaler.mean

    @property
    def scaling_scale_(self) -> np.ndarray:
        """Per-feature divisor applied inside the model."""
        return self._fitted().scaler.scale

    @property
    def image_shape_(self) -> tuple[int, ...] | None:
        """(C, H, W) of one image, or None for 2-D data."""
        return self._fitted().image_shape

    @property
    def column_layout_(self) -> ColumnLayout:
        """A mixed-type table's column layout; absent (AttributeError) for numeric data."""
        layout = self._fitted().layout
        if layout is None:
            raise AttributeError("column_layout_ is defined for models fitted on a table with categorical or "
                                 "boolean columns")
        return layout

    @property
    def selection_history_(self) -> History:
        """With ``refit``: the history of the run early stopping ended; absent when no such run happened."""
        history = self._fitted().selection_history
        if history is None:
            raise AttributeError("selection_history_ is defined when early stopping picked the epochs of a refit")
        return history

    @property
    def training_codes_(self) -> np.ndarray | None:
        """Codes of up to 5,000 training rows (what :meth:`sample`'s mixture is fitted to)."""
        return self._fitted().training_codes

    @property
    def training_conditions_(self) -> np.ndarray | None:
        """The encoded conditions of those rows (conditional models), else None."""
        return self._fitted().training_conditions

    # -- model files ----------------------------------------------------------------

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted model as plain values, numpy arrays and tensors.

        This is the protocol :mod:`skae.persistence` writes to a model file and
        :meth:`from_fitted_state` reads back: ``params`` (the parameters the
        model was fitted with), the fitted attributes, the module's and the
        objective's tensors, the corruption's prepared tensors, the history.
        """
        names = getattr(self, "feature_names_in_", None)
        return {**self._fitted().to_state(), "n_features_in": int(self.n_features_in_),  # type: ignore[attr-defined]
                "feature_names_in": None if names is None else [str(n) for n in names]}

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
        estimator: Any = cls(**state["params"])
        estimator._validate_params()
        model = FittedModel.from_state(state, ModelBuilder(estimator), estimator.get_params(deep=False), device,
                                       conditional=cls._conditional)
        estimator.n_features_in_, names = model.check_input(state["n_features_in"], state["feature_names_in"])
        if names is not None:
            estimator.feature_names_in_ = names
        estimator.model_ = model
        return estimator
