"""Mixed-type tables: numeric, categorical and boolean columns in one autoencoder.

A DataFrame with categorical (object, string or category dtype) or boolean
columns is laid out as one numeric matrix, column by column in the table's order:

* a numeric column keeps one slot (standardised by the estimator's scaler);
* a categorical column with K categories seen in training becomes K one-hot
  slots.  A one-hot vector into the first dense layer *is* an embedding lookup
  (the layer's weight columns are the embedding vectors), so one-hot input costs
  no generality; its decoder slots are the logits of a softmax over the K
  categories;
* a boolean column becomes one 0/1 slot whose decoder output is a logit.

The reconstruction term of each original column is then its own likelihood
(:class:`skae.likelihoods.MixedColumns`): squared error (or a Gaussian) for
numeric columns, the softmax cross-entropy for categorical ones, the binary
cross-entropy for booleans.

:class:`ColumnLayout` does the encoding and decoding; the likelihood reads only
its ``kinds`` and ``slots`` (index lists, no pandas).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .likelihoods import BOOLEAN, CATEGORICAL, NUMERIC

__all__ = ["ColumnLayout", "column_kind", "is_mixed_frame"]


def column_kind(series: pd.Series) -> str | None:
    """"numeric", "categorical" or "boolean": how skae models a column; None for a dtype it cannot model."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) \
            or pd.api.types.is_string_dtype(dtype):
        return CATEGORICAL
    return None


def _kind(series: pd.Series) -> str:
    kind = column_kind(series)
    if kind is not None:
        return kind
    raise TypeError(
        f"Column {series.name!r} has dtype {series.dtype}, which skae cannot model: it takes numeric, categorical "
        "(object, string, category) and boolean columns. Convert it (e.g. a date to numbers) or drop it."
    )


def is_mixed_frame(X: Any) -> bool:
    """X is a DataFrame with at least one categorical or boolean column."""
    return isinstance(X, pd.DataFrame) and any(_kind(X[c]) != NUMERIC for c in X.columns)


class ColumnLayout:
    """How a mixed-type DataFrame becomes encoded slots, and back.

    Parameters
    ----------
    names : list of str
    kinds : list of str
    categories : list of list or None
        The categories of each categorical column, in slot order.
    dtypes : list of str
        Each column's dtype, restored by :meth:`decode`.
    """

    def __init__(self, names, kinds, categories, dtypes):
        self.names, self.kinds = [str(n) for n in names], list(kinds)
        self.categories = [None if c is None else list(c) for c in categories]
        self.dtypes = [str(d) for d in dtypes]
        slots, start = [], 0
        for kind, cats in zip(self.kinds, self.categories):
            width = len(cats) if kind == CATEGORICAL else 1
            slots.append((start, start + width))
            start += width
        self.width = start
        self.slots = slots

    @classmethod
    def from_frame(cls, X: pd.DataFrame) -> ColumnLayout:
        """The layout of a training DataFrame (checked for missing values)."""
        kinds: list[str] = []
        categories: list[list[Any] | None] = []
        for name in X.columns:
            column = X[name]
            kind = _kind(column)
            _check_present(column)
            kinds.append(kind)
            if kind == CATEGORICAL:
                if isinstance(column.dtype, pd.CategoricalDtype):
                    cats = [c for c in column.cat.categories if (column == c).any()]
                else:
                    cats = sorted(pd.unique(column), key=lambda v: (str(type(v)), v))
                categories.append([_plain(c) for c in cats])
            else:
                categories.append(None)
        return cls(X.columns, kinds, categories, [str(X[c].dtype) for c in X.columns])

    @property
    def slot_names(self) -> list[str]:
        """Names of the encoded slots, for messages: a categorical column's slots are ``column=category``."""
        return [f"{n}={c}" if kind == CATEGORICAL else n
                for n, kind, cats in zip(self.names, self.kinds, self.categories) for c in (cats or [None])]

    @property
    def passthrough(self) -> np.ndarray:
        """Encoded slots the scaler leaves alone (one-hot and 0/1 slots)."""
        mask = np.ones(self.width, dtype=bool)
        for kind, (start, stop) in zip(self.kinds, self.slots):
            if kind == NUMERIC:
                mask[start:stop] = False
        return mask

    def check_columns(self, X, owner: str) -> None:
        """Raise unless X is a DataFrame with the training columns in the training order."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"{owner} was fitted on a DataFrame with categorical or boolean columns; pass a DataFrame with "
                f"the same columns {self.names} (got {type(X).__name__})."
            )
        got = [str(c) for c in X.columns]
        if got != self.names:
            missing = [n for n in self.names if n not in got]
            extra = [n for n in got if n not in self.names]
            detail = (f"missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else "")
            raise ValueError(
                f"X's columns {got} differ from those seen in fit {self.names}"
                + (f" ({detail.strip('; ')})" if detail else " (another order)") + ". Select them as in fit."
            )

    def encode(self, X: pd.DataFrame, handle_unknown: str = "error") -> np.ndarray:
        """The encoded float64 matrix of X (whose columns :meth:`check_columns` accepted)."""
        out = np.zeros((len(X), self.width))
        for j, (name, kind, cats, (start, _stop)) in enumerate(
                zip(self.names, self.kinds, self.categories, self.slots)):
            column = X.iloc[:, j]
            _check_present(column)
            if kind == NUMERIC:
                if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
                    raise TypeError(f"Column {name!r} was numeric in fit; it now has dtype {column.dtype}.")
                out[:, start] = column.to_numpy(dtype=np.float64)
            elif kind == BOOLEAN:
                values = column.to_numpy()
                if not np.isin(values, [True, False, 0, 1]).all():
                    raise ValueError(f"Boolean column {name!r} holds values other than True/False.")
                out[:, start] = values.astype(np.float64)
            else:
                codes = pd.Index(cats, dtype=object).get_indexer(column.astype(object).map(_plain).to_numpy())
                unknown = codes < 0
                if unknown.any() and handle_unknown == "error":
                    seen = sorted({str(v) for v in column[unknown]})[:5]
                    raise ValueError(
                        f"Column {name!r} holds categories not seen in fit: {seen}. Known: {cats[:20]}. Refit "
                        "with them, or set handle_unknown='ignore' to encode them as no known category "
                        "(they then cost as much as the least likely category, so they score as unusual)."
                    )
                rows = np.flatnonzero(~unknown)
                out[rows, start + codes[rows]] = 1.0
        return out

    def decode(self, values: np.ndarray, rng: np.random.RandomState | None = None) -> pd.DataFrame:
        """A DataFrame from decoded values (numbers in X's units, probabilities for the other slots).

        The most probable category (a probability above 0.5 for booleans), or
        categories drawn from the probabilities when ``rng`` is given.
        """
        columns = {}
        for name, kind, cats, dtype, (start, stop) in zip(
                self.names, self.kinds, self.categories, self.dtypes, self.slots):
            v = values[:, start:stop]
            if kind == NUMERIC:
                columns[name] = _numeric(v[:, 0], dtype)
            elif kind == BOOLEAN:
                p = v[:, 0]
                flags = rng.uniform(size=len(p)) < p if rng is not None else p > 0.5
                columns[name] = pd.Series(flags, dtype=dtype if dtype in ("bool", "boolean") else "bool")
            else:
                if rng is not None:
                    p = np.clip(v, 0, None)
                    cum = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
                    idx = np.minimum((rng.uniform(size=(len(v), 1)) > cum).sum(1), len(cats) - 1)
                else:
                    idx = v.argmax(1)
                picked = np.asarray(cats, dtype=object)[idx]
                if dtype == "category":
                    columns[name] = pd.Categorical(picked, categories=cats)
                else:
                    columns[name] = pd.Series(picked, dtype=dtype if dtype != "object" else object)
        return pd.DataFrame(columns)

    def to_state(self) -> dict[str, Any]:
        """The layout as JSON values, for model files."""
        return {"names": self.names, "kinds": self.kinds, "categories": self.categories, "dtypes": self.dtypes}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnLayout:
        """The layout :meth:`to_state` wrote."""
        return cls(state["names"], state["kinds"], state["categories"], state["dtypes"])


def _plain(value):
    """A category as a plain Python value (numpy scalars from pandas become int / float / str / bool)."""
    return value.item() if isinstance(value, np.generic) else value


def _numeric(values: np.ndarray, dtype: str) -> pd.Series:
    if dtype.lower().startswith(("int", "uint")):
        return pd.Series(np.rint(values)).astype(dtype)
    return pd.Series(values).astype(dtype if dtype.lower().startswith("float") else "float64")


def _check_present(column: pd.Series) -> None:
    missing = column.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"Column {column.name!r} has {int(missing.sum())} missing values (first in row "
            f"{int(np.flatnonzero(missing)[0])}). skae does not train on missing values: impute them "
            "(sklearn.impute.SimpleImputer, strategy='most_frequent' for categories) or drop those rows."
        )
