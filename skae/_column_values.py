"""A table column's values as numbers and back: decimals, datetimes, categories, quantile maps, dtypes.

The pieces :class:`skae.tabular.ColumnLayout` encodes and decodes a column with.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EPOCH", "QuantileMap", "as_datetimes", "as_numbers", "as_numeric", "as_seconds", "categories_of",
           "category_codes", "plain"]

EPOCH = pd.Timestamp("1970-01-01")


class QuantileMap:
    """A numeric column mapped through its training distribution onto a standard normal, and back.

    ``encode`` sends a value to Φ⁻¹(F(x)), F the column's empirical CDF (ties
    at their mid-rank), so every column enters the model Gaussian whatever its
    skew, tails or spikes; ``decode`` inverts it, so generated values follow
    the column's training distribution and stay in its range.  Beyond the
    training range ``encode`` continues linearly, so an extreme value stays
    extreme for the model, while ``decode`` keeps to the training range (what
    a generated value should).  A column with few distinct values (at most
    ``DISCRETE``) decodes to one of them; others interpolate between at most
    1,000 quantiles.

    Parameters
    ----------
    values : ndarray
        The knots: distinct training values (or quantiles), increasing.
    scores : ndarray
        Φ⁻¹ of each knot's mid-rank CDF.
    cdf : ndarray
        Each knot's cumulative share (for the discrete inverse).
    discrete : bool
    """

    DISCRETE = 30
    KNOTS = 1000

    def __init__(self, values, scores, cdf, discrete: bool):
        self.values, self.scores = np.asarray(values, dtype=np.float64), np.asarray(scores, dtype=np.float64)
        self.cdf, self.discrete = np.asarray(cdf, dtype=np.float64), bool(discrete)

    @classmethod
    def fit(cls, x: np.ndarray) -> QuantileMap:
        """The map of a column's observed values (NaN left out)."""
        from scipy.special import ndtri

        x = np.sort(x[~np.isnan(x)])
        values, counts = np.unique(x, return_counts=True)
        cdf = np.cumsum(counts) / len(x)
        mid = cdf - counts / (2 * len(x))
        discrete = len(values) <= cls.DISCRETE
        if len(values) > cls.KNOTS:  # quantiles are enough to draw a continuous column's shape
            keep = np.unique(np.linspace(0, len(values) - 1, cls.KNOTS).round().astype(int))
            values, cdf, mid = values[keep], cdf[keep], mid[keep]
        return cls(values, ndtri(np.clip(mid, 1e-9, 1 - 1e-9)), cdf, discrete)

    def _slopes(self) -> tuple[float, float]:
        """dz/dx beyond each end (the outermost segment's; one unit per standard deviation for a single value)."""
        if len(self.values) < 2:
            return 1.0, 1.0
        low = (self.scores[1] - self.scores[0]) / max(self.values[1] - self.values[0], 1e-300)
        high = (self.scores[-1] - self.scores[-2]) / max(self.values[-1] - self.values[-2], 1e-300)
        return low, high

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Values to standard-normal scores (NaN stays NaN)."""
        z = np.interp(x, self.values, self.scores)
        low, high = self._slopes()
        z = np.where(x < self.values[0], self.scores[0] + (x - self.values[0]) * low, z)
        return np.where(x > self.values[-1], self.scores[-1] + (x - self.values[-1]) * high, z)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Scores back to values in the training range: one of the training values for a discrete column."""
        if self.discrete:
            from scipy.special import ndtr

            index = np.minimum(np.searchsorted(self.cdf, ndtr(z)), len(self.values) - 1)
            return self.values[index]
        return np.interp(z, self.scores, self.values)  # np.interp holds the end values beyond the knots

    def to_state(self) -> dict[str, Any]:
        """The map as JSON values."""
        return {"values": self.values.tolist(), "scores": self.scores.tolist(), "cdf": self.cdf.tolist(),
                "discrete": self.discrete}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileMap:
        """The map :meth:`to_state` wrote, checked."""
        values, scores, cdf = (np.asarray(state[k], dtype=np.float64) for k in ("values", "scores", "cdf"))
        if values.ndim != 1 or not len(values) or values.shape != scores.shape or values.shape != cdf.shape \
                or not (np.all(np.diff(values) > 0) and np.all(np.diff(scores) >= 0)):
            raise ValueError("a quantile map of the column layout is malformed.")
        return cls(values, scores, cdf, bool(state["discrete"]))


def plain(value):
    """A category as a plain Python value (numpy scalars from pandas become int / float / str / bool)."""
    return value.item() if isinstance(value, np.generic) else value


def categories_of(column: pd.Series) -> list[Any]:
    """A categorical column's categories: all of a ``category`` dtype's, in order; else the observed values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = list(column.cat.categories)
    else:
        try:
            values = pd.unique(column.dropna())
        except TypeError as exc:
            raise TypeError(f"Column {column.name!r} holds unhashable values ({exc}); skae takes numbers, text, "
                            "booleans and dates. Convert them (e.g. lists to strings) or drop the column.") from exc
        types = {type(plain(v)) for v in column.dropna()}  # pd.unique already merged True with 1
        if bool in types and types & {int, float}:
            raise ValueError(
                f"Column {column.name!r} holds both booleans and numbers ({sorted(t.__name__ for t in types)}): "
                "True and 1 would become one category and could not come back as they were. Use one type."
            )
        cats = sorted(values, key=lambda v: (str(type(v)), v))
    return [plain(c) for c in cats]


def category_codes(column: pd.Series, cats: list[Any], name: str) -> np.ndarray:
    """Each value's category index (-1: unknown or missing); values match string categories by their text."""
    values = column.astype(object).map(plain).to_numpy()
    if cats and all(isinstance(c, str) for c in cats):
        values = np.asarray([v if v is None or isinstance(v, str) or pd.isna(v) else _text(v) for v in values],
                            dtype=object)
    try:
        return pd.Index(cats, dtype=object).get_indexer(values)
    except TypeError as exc:
        raise TypeError(f"Column {name!r} holds values that cannot be compared with its categories: {exc}") from exc


def _text(value) -> str:
    """A number as it is written in a CSV (1.0 read as a float is "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_numbers(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_object_dtype(column.dtype):
        try:
            return np.asarray([np.nan if pd.isna(v) else float(v) for v in column], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Column {name!r} was numeric in fit; it now holds {exc}.") from exc
    if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise TypeError(f"Column {name!r} was numeric in fit; it now has dtype {column.dtype}.")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def as_seconds(column: pd.Series, name: str) -> np.ndarray:
    try:
        times = pd.to_datetime(column)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Column {name!r} held datetimes in fit; it now holds {exc}.") from exc
    if times.dt.tz is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = (times - EPOCH).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    return seconds


def as_datetimes(seconds: np.ndarray, dtype: str) -> pd.Series:
    times = EPOCH + pd.to_timedelta(np.round(seconds * 1e6).astype(np.int64), unit="us")
    series = pd.Series(times)
    if dtype == "object":  # datetime.date / datetime objects in fit
        return pd.Series([t.date() if t.time() == datetime.time(0) else t.to_pydatetime() for t in times],
                         dtype=object)
    if "," in dtype:  # a time zone: the instants were encoded in UTC
        tz = dtype.split(",", 1)[1].rstrip("]").strip()
        return series.dt.tz_localize("UTC").dt.tz_convert(tz).astype(dtype)
    return series.astype(dtype)


def as_numeric(values: np.ndarray, dtype: str) -> pd.Series:
    """Decoded numbers as ``dtype``: integers rounded, and clipped to what the dtype holds."""
    lower = dtype.lower()
    if lower.startswith(("int", "uint")):
        info = np.iinfo(np.dtype(lower))
        return pd.Series(np.clip(np.rint(values), info.min, info.max)).astype(dtype)
    if lower in ("float16", "float32"):
        limits = np.finfo(np.dtype(lower))
        return pd.Series(np.clip(values, limits.min, limits.max)).astype(dtype)
    return pd.Series(values).astype(dtype if lower.startswith("float") else "float64")
