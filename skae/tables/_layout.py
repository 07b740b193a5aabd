"""Mixed-type tables: numeric, categorical, boolean and datetime columns in one autoencoder.

A DataFrame with categorical (object, string or category dtype), boolean or
datetime columns is laid out as one numeric matrix, column by column in the
table's order:

* a numeric column keeps one slot (standardised by the estimator's scaler);
  ``decimal.Decimal`` values (what ``read_sql`` / ``read_parquet`` give for
  DECIMAL columns) are numbers;
* a datetime column (``datetime64``, or ``datetime.date`` / ``datetime`` objects)
  keeps one slot, in seconds since 1970, and comes back as the same dtype;
* a categorical column with K categories becomes K one-hot slots.  A one-hot
  vector into the first dense layer *is* an embedding lookup (the layer's
  weight columns are the embedding vectors), so one-hot input costs no
  generality; its decoder slots are the logits of a softmax over the K
  categories (a model keeps the column as one code per row and expands the
  slots a batch at a time: :meth:`ColumnLayout.pack`, :mod:`skae.tables._packed`).
  A ``category`` dtype keeps all its categories and their order;
  other columns take the values seen in fit, matched by their text when those
  are strings (a CSV column of '1', '2', 'x' still matches a later file whose
  pandas reads 1 and 2 as numbers);
* a boolean column becomes one 0/1 slot whose decoder output is a logit.

Missing entries (NaN, None, ``pd.NA``, ``NaT``) become NaN in every slot of
their column: the models then skip them (:mod:`skae.likelihoods`).

The reconstruction term of each original column is its own likelihood
(:class:`skae.likelihoods.MixedColumns`): squared error (or a Gaussian) for
numeric and datetime columns, the softmax cross-entropy for categorical ones,
the binary cross-entropy for booleans.  :class:`ColumnLayout` does the encoding
and decoding; the likelihood reads only its ``kinds`` and ``slots``.
"""

from __future__ import annotations

import datetime
import decimal
import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._packed import MISSING, UNKNOWN, PackedTable, SlotPacking
from ._values import (
    QuantileMap,
    Support,
    as_datetimes,
    as_numbers,
    as_numeric,
    as_seconds,
    categories_of,
    category_codes,
    plain,
)

__all__ = ["BOOLEAN", "CATEGORICAL", "DATETIME", "NUMERIC", "ColumnLayout", "QuantileMap", "column_kind", "is_mixed_frame"]

#: how a column is modelled: each kind has its reconstruction term (:mod:`skae.likelihoods`)
NUMERIC, CATEGORICAL, BOOLEAN = "numeric", "categorical", "boolean"
#: a datetime column: modelled as a number (seconds since 1970), returned as datetimes
DATETIME = "datetime"
_KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, DATETIME)


def column_kind(series: pd.Series) -> str | None:
    """How skae models a column: "numeric", "categorical", "boolean" or "datetime"; None if it cannot.

    Decided from the dtype, and for object columns from the values: Decimals are
    numbers, dates and datetimes are datetimes, anything else is a category.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_complex_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) and not \
            pd.api.types.is_object_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and all(isinstance(v, decimal.Decimal) for v in values):
            return NUMERIC
        if len(values) and all(isinstance(v, (datetime.date, np.datetime64)) for v in values):
            return DATETIME
        if any(isinstance(v, (complex, np.complexfloating)) for v in values):
            return None
        return CATEGORICAL
    return None


def _kind(series: pd.Series) -> str:
    kind = column_kind(series)
    if kind is not None:
        return kind
    raise TypeError(
        f"Column {series.name!r} has dtype {series.dtype}, which skae cannot model: it takes numeric, categorical "
        "(object, string, category), boolean and datetime columns. Convert it (complex numbers to their real and "
        "imaginary parts, durations to numbers) or drop it."
    )


def check_frame_columns(X: pd.DataFrame) -> None:
    """Refuse column labels a table cannot round-trip: duplicates and MultiIndex labels."""
    if isinstance(X.columns, pd.MultiIndex):
        raise ValueError(
            f"X has MultiIndex column labels ({list(X.columns[:3])} ...), which do not round-trip through "
            "skae's outputs. Flatten them first, e.g. X.columns = ['_'.join(map(str, c)) for c in X.columns]."
        )
    duplicated = X.columns[X.columns.duplicated()].unique()
    if len(duplicated):
        raise ValueError(
            f"X has duplicated column names {list(duplicated)}: each column needs its own name (rename or drop "
            "the duplicates)."
        )


def is_mixed_frame(X: Any) -> bool:
    """X is a DataFrame with at least one categorical, boolean or datetime column."""
    if not isinstance(X, pd.DataFrame):
        return False
    check_frame_columns(X)
    return any(_kind(X[c]) != NUMERIC or pd.api.types.is_object_dtype(X[c].dtype) for c in X.columns)


class ColumnLayout:
    """How a mixed-type DataFrame becomes encoded slots, and back.

    Parameters
    ----------
    names : list of str
        The columns' names as text (what ``feature_names_in_`` holds).
    kinds : list of str
        "numeric", "categorical", "boolean" or "datetime", one per column.
    categories : list of list or None
        The categories of each categorical column, in slot order.
    dtypes : list of str
        Each column's dtype, restored by :meth:`decode`.
    labels : list or None
        The columns' labels as given (ints stay ints); default: ``names``.
    ordered : list of bool or None
        Whether each ``category`` column's categories are ordered.
    quantiles : list of QuantileMap or None
        With ``scaling="quantile"``: each numeric column's map onto a standard normal.
    supports : list of Support or None
        Where each numeric and datetime column's values lie (a grid, a few
        values): draws are put on it, and datetimes on their grid always.
    """

    def __init__(self, names, kinds, categories, dtypes, labels=None, ordered=None, quantiles=None, supports=None):
        self.names, self.kinds = [str(n) for n in names], list(kinds)
        self.quantiles = list(quantiles) if quantiles is not None else [None] * len(self.names)
        self.supports = list(supports) if supports is not None else [None] * len(self.names)
        self.categories = [None if c is None else list(c) for c in categories]
        self.dtypes = [str(d) for d in dtypes]
        self.labels = list(self.names if labels is None else labels)
        self.ordered = [bool(o) for o in (ordered or [False] * len(self.names))]
        slots, start = [], 0
        for kind, cats in zip(self.kinds, self.categories):
            width = len(cats) if kind == CATEGORICAL else 1
            slots.append((start, start + width))
            start += width
        self.width = start
        self.slots = slots

    @property
    def model_kinds(self) -> list[str]:
        """The likelihood's kind of each column (a datetime is modelled as a number)."""
        return [NUMERIC if k == DATETIME else k for k in self.kinds]

    @classmethod
    def from_frame(cls, X: pd.DataFrame, quantile: bool = False) -> ColumnLayout:
        """The layout of a training DataFrame (numeric columns through a :class:`QuantileMap` with ``quantile``)."""
        check_frame_columns(X)
        kinds: list[str] = []
        categories: list[list[Any] | None] = []
        ordered: list[bool] = []
        for j, label in enumerate(X.columns):
            column = X.iloc[:, j]
            kind = _kind(column)
            kinds.append(kind)
            ordered.append(bool(isinstance(column.dtype, pd.CategoricalDtype) and column.cat.ordered))
            cats = categories_of(column) if kind == CATEGORICAL else None
            categories.append(cats)
            if cats is not None and len(X) >= 50 and len(cats) >= 0.9 * column.notna().sum():
                warnings.warn(
                    f"Column {str(label)!r} has {len(cats)} categories in {len(X)} rows: nearly one per "
                    "row, like an identifier. It is modelled as categorical (one input and one output per "
                    "category), which costs memory and says nothing about new rows; drop it if it is an id.",
                    UserWarning, stacklevel=4,
                )
        labels = [plain(label) for label in X.columns]
        layout = cls([str(c) for c in X.columns], kinds, categories, [str(X[c].dtype) for c in X.columns], labels,
                     ordered)
        raw = {j: layout._raw_numbers(X.iloc[:, j], j) for j, kind in enumerate(kinds) if kind in (NUMERIC, DATETIME)}
        layout.supports = [Support.fit(raw[j], kind == DATETIME) if j in raw else None for j, kind in enumerate(kinds)]
        if quantile:
            layout.quantiles = [QuantileMap.fit(raw[j]) if j in raw else None for j in range(len(kinds))]
        return layout

    def _raw_numbers(self, column: pd.Series, j: int) -> np.ndarray:
        name = self.names[j]
        return as_seconds(column, name) if self.kinds[j] == DATETIME else as_numbers(column, name)

    @property
    def slot_names(self) -> list[str]:
        """Names of the encoded slots, for messages: a categorical column's slots are ``column=category``."""
        return [f"{n}={c}" if kind == CATEGORICAL else n
                for n, kind, cats in zip(self.names, self.kinds, self.categories) for c in (cats or [None])]

    @property
    def all_numeric(self) -> bool:
        """Every column is a number (a numeric DataFrame): an array of the same width can stand for it."""
        return all(kind == NUMERIC for kind in self.kinds)

    @property
    def passthrough(self) -> np.ndarray:
        """Encoded slots the scaler leaves alone (one-hot and 0/1 slots)."""
        mask = np.ones(self.width, dtype=bool)
        for kind, (start, stop) in zip(self.model_kinds, self.slots):
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
        check_frame_columns(X)
        got = [str(c) for c in X.columns]
        if got != self.names:
            missing = [n for n in self.names if n not in got]
            extra = [n for n in got if n not in self.names]
            detail = (f"missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else "")
            raise ValueError(  # scikit-learn's words first, as its own estimators raise them
                f"The feature names should match those that were passed during fit: X's columns {got} differ from "
                f"those seen in fit {self.names}"
                + (f" ({detail.strip('; ')})" if detail else " (another order)") + ". Select them as in fit."
            )

    @property
    def packing(self) -> SlotPacking:
        """Which slots are numbers and which are one-hot (see :meth:`pack`)."""
        return SlotPacking(self.width, [slots for kind, slots in zip(self.kinds, self.slots) if kind == CATEGORICAL])

    def encode(self, X: pd.DataFrame, handle_unknown: str = "error", training: bool = False) -> np.ndarray:
        """The encoded float64 matrix of X (whose columns :meth:`check_columns` accepted); NaN where missing.

        A category not seen in fit is an error, or with ``handle_unknown="ignore"``
        no known category: an all-zero one-hot when scoring (it costs what the
        least likely category would, so the row scores as unusual), a missing
        entry when ``training`` (its column's term is skipped rather than
        pushed towards no category).
        """
        return self.pack(X, handle_unknown, training).dense()

    def pack(self, X: pd.DataFrame, handle_unknown: str = "error", training: bool = False) -> PackedTable:
        """:meth:`encode`'s matrix with each categorical column as one code, not its one-hot slots.

        What a model keeps of a table: a column of 4,000 categories costs one
        integer per row instead of 4,000 floats; the slots are expanded a batch
        or a chunk at a time (:mod:`skae.tables._packed`).
        """
        packing = self.packing
        numbers = np.empty((len(X), len(packing.number_slots)))
        codes = np.empty((len(X), len(packing.ranges)), dtype=np.int64)
        number, code = iter(range(numbers.shape[1])), iter(range(codes.shape[1]))
        for j, (name, kind, cats) in enumerate(zip(self.names, self.kinds, self.categories)):
            column = X.iloc[:, j]
            missing = column.isna().to_numpy()
            if kind == CATEGORICAL:
                codes[:, next(code)] = self._category_codes(column, cats, name, missing, handle_unknown, training)
                continue
            slot = numbers[:, next(number)]
            if kind in (NUMERIC, DATETIME):
                raw = self._raw_numbers(column, j)
                quantiles = self.quantiles[j]
                slot[:] = raw if quantiles is None else quantiles.encode(raw)
            else:
                values = column.to_numpy(dtype=object)[~missing]
                if not all(isinstance(v, (bool, np.bool_)) or v in (0, 1) for v in values):
                    raise ValueError(f"Boolean column {name!r} holds values other than True/False.")
                slot[~missing] = values.astype(np.float64)
            slot[missing] = np.nan
        return PackedTable(numbers, codes, packing)

    @staticmethod
    def _category_codes(column: pd.Series, cats, name: str, missing: np.ndarray, handle_unknown: str,
                        training: bool) -> np.ndarray:
        codes = category_codes(column, cats, name)
        unknown = (codes < 0) & ~missing
        if unknown.any() and handle_unknown == "error":
            seen = sorted({repr(v) for v in column[unknown]})[:5]
            raise ValueError(
                f"Column {name!r} holds categories not seen in fit: {', '.join(seen)}. Known: "
                f"{[c for c in cats[:20]]}. Refit with them, or set handle_unknown='ignore' to encode them "
                "as no known category (they then cost as much as the least likely category, so they "
                "score as unusual)."
            )
        return np.where(missing | unknown & training, MISSING, np.where(unknown, UNKNOWN, codes))

    def decode(self, values: np.ndarray, rng: np.random.RandomState | None = None) -> pd.DataFrame:
        """A DataFrame from decoded values (numbers in X's units, probabilities for the other slots).

        The most probable category (a probability above 0.5 for booleans), or
        categories drawn from the probabilities when ``rng`` is given.  Numbers
        come back in the column's dtype, clipped to its range (an ``int8`` age
        stays in [-128, 127]).
        """
        columns = {}
        for label, kind, cats, dtype, ordered, quantiles, support, (start, stop) in zip(
                self.labels, self.kinds, self.categories, self.dtypes, self.ordered, self.quantiles, self.supports,
                self.slots):
            v = values[:, start:stop]
            values_ = v[:, 0] if quantiles is None else quantiles.decode(v[:, 0])
            if support is not None and kind in (NUMERIC, DATETIME):
                # draws on the values the column takes; a model's best value keeps its precision, but dates
                values_ = support.snap(values_) if rng is not None else support.round(values_) \
                    if kind == DATETIME else values_
            if kind == NUMERIC:
                columns[label] = as_numeric(values_, dtype)
            elif kind == DATETIME:
                columns[label] = as_datetimes(values_, dtype)
            elif kind == BOOLEAN:
                p = v[:, 0]
                flags = rng.uniform(size=len(p)) < p if rng is not None else p > 0.5
                columns[label] = pd.Series(flags, dtype=dtype if dtype in ("bool", "boolean") else "bool")
            else:
                if rng is not None:
                    p = np.clip(v, 0, None)
                    cum = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
                    idx = np.minimum((rng.uniform(size=(len(v), 1)) > cum).sum(1), len(cats) - 1)
                else:
                    idx = v.argmax(1)
                picked = np.asarray(cats, dtype=object)[idx]
                if dtype == "category":
                    columns[label] = pd.Categorical(picked, categories=cats, ordered=ordered)
                else:
                    columns[label] = pd.Series(picked, dtype=dtype if dtype != "object" else object)
        return pd.DataFrame(columns)

    def to_state(self) -> dict[str, Any]:
        """The layout as JSON values, for model files."""
        return {"names": self.names, "kinds": self.kinds, "categories": self.categories, "dtypes": self.dtypes,
                "labels": self.labels, "ordered": self.ordered,
                "quantiles": [None if q is None else q.to_state() for q in self.quantiles],
                "supports": [None if p is None else p.to_state() for p in self.supports]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnLayout:
        """The layout :meth:`to_state` wrote, every field checked (a ValueError names the first bad one)."""
        names, kinds, categories, dtypes = (state[k] for k in ("names", "kinds", "categories", "dtypes"))
        labels, ordered = state.get("labels", names), state.get("ordered", [False] * len(names))
        fields = {"names": names, "kinds": kinds, "categories": categories, "dtypes": dtypes, "labels": labels,
                  "ordered": ordered}
        for key, value in fields.items():
            if not isinstance(value, list) or len(value) != len(names) or not value and key == "names":
                raise ValueError(f"the column layout's {key} is not a list with one entry per column.")
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise ValueError("the column layout's names are not distinct strings.")
        if not all(k in _KINDS for k in kinds):
            raise ValueError(f"the column layout names unknown column kinds {sorted(set(kinds) - set(_KINDS))}.")
        if not all(isinstance(d, str) for d in dtypes) or not all(isinstance(o, bool) for o in ordered):
            raise ValueError("the column layout's dtypes or ordered flags are malformed.")
        if not all(isinstance(label, (str, int, float)) and not isinstance(label, bool) for label in labels) or \
                [str(label) for label in labels] != names:
            raise ValueError("the column layout's labels do not match its names.")
        for kind, cats in zip(kinds, categories):
            if kind == CATEGORICAL and not (isinstance(cats, list) and cats and all(
                    isinstance(c, (str, bool, numbers.Real)) for c in cats)):
                raise ValueError("a categorical column of the column layout has no valid categories.")
            if kind != CATEGORICAL and cats is not None:
                raise ValueError("a non-categorical column of the column layout lists categories.")
        quantiles = state.get("quantiles") or [None] * len(names)
        if not isinstance(quantiles, list) or len(quantiles) != len(names) or any(
                q is not None and k not in (NUMERIC, DATETIME) for q, k in zip(quantiles, kinds)):
            raise ValueError("the column layout's quantile maps do not match its columns.")
        maps = [None if q is None else QuantileMap.from_state(q) for q in quantiles]
        supports = state.get("supports") or [None] * len(names)  # absent before supports were kept
        if not isinstance(supports, list) or len(supports) != len(names) or any(
                p is not None and (k not in (NUMERIC, DATETIME) or not isinstance(p, dict))
                for p, k in zip(supports, kinds)):
            raise ValueError("the column layout's supports do not match its columns.")
        return cls(names, kinds, categories, dtypes, labels, ordered, maps,
                   [None if p is None else Support.from_state(p) for p in supports])
