"""Conditions of a conditional model: labels, values or DataFrames, encoded to network inputs.

Categorical columns (ints, strings, bools, categories) are one-hot encoded;
float columns are standardised; a 2-D array or a DataFrame may mix both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["ConditionEncoder", "condition_frame"]


def condition_frame(y) -> pd.DataFrame:
    """y as a DataFrame with string column names (``y``, or ``y0, y1, ...`` for 2-D arrays)."""
    if isinstance(y, pd.DataFrame):
        frame = y.copy()
    elif isinstance(y, pd.Series):
        frame = y.to_frame(name=str(y.name) if y.name is not None else "y")
    else:
        arr = np.asarray(y)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            frame = pd.DataFrame({"y": arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame(arr, columns=[f"y{i}" for i in range(arr.shape[1])])
        else:
            raise ValueError(f"The condition y must be 1-D or 2-D; got shape {arr.shape}.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _has_names(y) -> bool:
    """A DataFrame with string column names (scikit-learn's rule for feature names)."""
    return isinstance(y, pd.DataFrame) and all(isinstance(c, str) for c in y.columns)


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_float_dtype(series.dtype)


class ConditionEncoder:
    """One-hot categorical columns, standardised continuous ones, fitted on the training conditions.

    Attributes
    ----------
    columns : list of str
    categorical, continuous : list of str
    transformer : sklearn.compose.ColumnTransformer
    n_features_out : int
    classes : ndarray or None
        The labels of a single categorical condition.
    """

    def fit(self, y, n_samples: int) -> np.ndarray:
        """Fit on the training conditions and return them encoded."""
        frame = condition_frame(y)
        if len(frame) != n_samples:
            raise ValueError(f"X has {n_samples} samples but the condition y has {len(frame)}.")
        self.columns = list(frame.columns)
        self.named = _has_names(y)
        self.categorical = [c for c in frame.columns if _is_categorical(frame[c])]
        self.continuous = [c for c in frame.columns if c not in self.categorical]
        _check_complete(frame, self.categorical, self.continuous)
        self.transformer = ColumnTransformer(
            [("categorical", OneHotEncoder(sparse_output=False, handle_unknown="error"), self.categorical),
             ("continuous", StandardScaler(), self.continuous)],
            sparse_threshold=0,
        ).fit(frame.astype({c: str for c in self.categorical}))
        cats = self.transformer.named_transformers_["categorical"]
        self.classes = cats.categories_[0] if self.categorical == self.columns and len(self.columns) == 1 else None
        encoded = self._encode(frame)
        self.n_features_out = encoded.shape[1]
        return encoded

    def transform(self, y, n_samples: int) -> np.ndarray:
        """Encode conditions for ``n_samples`` rows: one condition for all, or one per row."""
        frame = condition_frame(y)
        if list(frame.columns) != self.columns:
            if _has_names(y) and self.named:
                raise ValueError(
                    f"The condition's columns {list(frame.columns)} are not those seen at fit, "
                    f"{self.columns} (same names, same order): conditions are matched by name."
                )
            if frame.shape[1] != len(self.columns):
                raise ValueError(
                    f"The condition has {frame.shape[1]} column(s); {len(self.columns)} were seen at fit "
                    f"({self.columns})."
                )
            frame.columns = self.columns
        _check_complete(frame, self.categorical, self.continuous)
        if len(frame) == 1 and n_samples != 1:
            frame = pd.concat([frame] * n_samples, ignore_index=True)
        if len(frame) != n_samples:
            raise ValueError(f"Got {len(frame)} conditions for {n_samples} samples; give one, or one per sample.")
        return self._encode(frame)

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            return self.transformer.transform(frame.astype({c: str for c in self.categorical})).astype(np.float64)
        except ValueError as exc:
            if "unknown categories" not in str(exc):
                raise
            cats = self.transformer.named_transformers_["categorical"].categories_
            known = {col: list(c) for col, c in zip(self.categorical, cats)}
            raise ValueError(f"Unseen condition value: {exc}. Known values per condition column: {known}.") from exc

    # -- fitted state (model files) ----------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        cats = self.transformer.named_transformers_["categorical"]
        scaler = self.transformer.named_transformers_["continuous"]
        return {
            "columns": self.columns,
            "named": self.named,
            "categories": {c: [str(v) for v in k] for c, k in zip(self.categorical, getattr(cats, "categories_", []))},
            "continuous": {c: [float(scaler.mean_[i]), float(scaler.scale_[i]), float(scaler.var_[i])]
                           for i, c in enumerate(self.continuous)},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConditionEncoder:
        columns = [str(c) for c in state["columns"]]
        categories, continuous = state["categories"], state["continuous"]
        if set(categories) | set(continuous) != set(columns) or set(categories) & set(continuous):
            raise ValueError("the condition state does not describe its columns.")
        # refit on a frame holding every category once, then set the scaler's statistics
        n = max([len(v) for v in categories.values()] + [1])
        frame = pd.DataFrame({
            c: np.resize(np.asarray([str(v) for v in categories[c]], dtype=object), n) if c in categories
            else np.linspace(0.0, 1.0, n) for c in columns
        })
        encoder = cls()
        encoder.fit(frame, n)
        encoder.named = bool(state.get("named", False))
        if continuous:
            scaler = encoder.transformer.named_transformers_["continuous"]
            stats = np.asarray([continuous[c] for c in scaler.feature_names_in_], dtype=np.float64)
            scaler.mean_, scaler.scale_, scaler.var_ = stats[:, 0], stats[:, 1], stats[:, 2]
        return encoder


def _check_complete(frame: pd.DataFrame, categorical: list[str], continuous: list[str]) -> None:
    for c in categorical:
        missing = frame[c].isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"The condition column {c!r} has missing values (None/NaN/NA) in rows "
                f"{np.flatnonzero(missing)[:5].tolist()}: every row needs a known condition. Drop or fill them."
            )
    for c in continuous:
        if not np.isfinite(frame[c].to_numpy(dtype=float)).all():
            raise ValueError(f"The condition column {c!r} contains NaN or infinity.")
