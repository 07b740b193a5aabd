"""A table column's values as numbers and back: decimals, datetimes, categories, quantile maps, dtypes.

The pieces :class:`skae.tabular.ColumnLayout` encodes and decodes a column with.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EPOCH", "QuantileMap", "SMALL_SUPPORT", "Support", "as_datetimes", "as_numbers", "as_numeric", "as_seconds", "categories_of",
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
    #: a value held by at least this share of the rows is a point mass (a spike at 0 beside a continuous part)
    MASS = 0.01

    def __init__(self, values, scores, cdf, discrete: bool, masses=None):
        self.values, self.scores = np.asarray(values, dtype=np.float64), np.asarray(scores, dtype=np.float64)
        self.cdf, self.discrete = np.asarray(cdf, dtype=np.float64), bool(discrete)
        self.masses = np.full(len(self.values), self.discrete) if masses is None else np.asarray(masses, dtype=bool)

    @classmethod
    def fit(cls, x: np.ndarray) -> QuantileMap:
        """The map of a column's observed values (NaN left out).

        A column is discrete when it has at most ``DISCRETE`` distinct values
        or fewer than one per :data:`SMALL_SUPPORT` rows (sizes of a product,
        counts): it decodes to its values with their frequencies.
        """
        from scipy.special import ndtri

        x = np.sort(x[~np.isnan(x)])
        values, counts = np.unique(x, return_counts=True)
        cdf = np.cumsum(counts) / len(x)
        mid = cdf - counts / (2 * len(x))
        discrete = len(values) <= max(cls.DISCRETE, len(x) / SMALL_SUPPORT)
        masses = np.full(len(values), True) if discrete else counts >= max(2, cls.MASS * len(x))
        if len(values) > cls.KNOTS:  # quantiles are enough to draw a continuous column's shape; masses stay
            keep = np.unique(np.concatenate([np.linspace(0, len(values) - 1, cls.KNOTS).round().astype(int),
                                             np.flatnonzero(masses)]))
            values, cdf, mid, masses = values[keep], cdf[keep], mid[keep], masses[keep]
        return cls(values, ndtri(np.clip(mid, 1e-9, 1 - 1e-9)), cdf, discrete, masses)

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
        """Scores back to values in the training range.

        A score whose cumulative share falls on a point mass (every value of a
        discrete column) is that value exactly, so a spike stays a spike with
        its frequency; others interpolate between the knots.
        """
        from scipy.special import ndtr

        out = np.interp(z, self.scores, self.values)  # np.interp holds the end values beyond the knots
        if not self.masses.any():
            return out
        index = np.minimum(np.searchsorted(self.cdf, ndtr(z)), len(self.values) - 1)
        on_mass = self.masses[index]
        if self.discrete:
            return self.values[index]
        return np.where(on_mass, self.values[index], out)

    def to_state(self) -> dict[str, Any]:
        """The map as JSON values."""
        return {"values": self.values.tolist(), "scores": self.scores.tolist(), "cdf": self.cdf.tolist(),
                "discrete": self.discrete, "masses": self.masses.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileMap:
        """The map :meth:`to_state` wrote, checked (maps written before point masses have none but a discrete one's)."""
        values, scores, cdf = (np.asarray(state[k], dtype=np.float64) for k in ("values", "scores", "cdf"))
        if values.ndim != 1 or not len(values) or values.shape != scores.shape or values.shape != cdf.shape \
                or not (np.all(np.diff(values) > 0) and np.all(np.diff(scores) >= 0)):
            raise ValueError("a quantile map of the column layout is malformed.")
        masses = state.get("masses")
        if masses is not None and (not isinstance(masses, list) or len(masses) != len(values)
                                   or not all(isinstance(m, bool) for m in masses)):
            raise ValueError("a quantile map's point masses do not match its knots.")
        return cls(values, scores, cdf, bool(state["discrete"]), masses)


#: a numeric column with fewer distinct values than one per this many rows lies on a small support
SMALL_SUPPORT = 20
#: grid steps tried for datetimes, coarsest first: a day, an hour, a minute, a second, a millisecond
_TIME_STEPS = (86400.0, 3600.0, 60.0, 1.0, 1e-3)


class Support:
    """Where a numeric or datetime column's values lie: a grid (whole numbers, cents, days), and its values if few.

    Drawn values are put on it (:meth:`snap`): a column of product sizes with
    56 distinct values in 2,100 rows comes back with those 56 values, prices
    in cents stay in cents, dates stay dates.  A classifier telling synthetic
    rows from real ones needs only one column whose values never occur in the
    data.

    Parameters
    ----------
    step : float or None
        Every observed value is a multiple of it (in seconds for datetimes).
    values : ndarray or None
        The distinct observed values, when fewer than one per
        :data:`SMALL_SUPPORT` rows.
    """

    def __init__(self, step: float | None, values=None):
        self.step = None if step is None else float(step)
        self.values = None if values is None else np.asarray(values, dtype=np.float64)

    @classmethod
    def fit(cls, x: np.ndarray, datetime: bool = False) -> Support | None:
        """The support of a column's observed values; None when they lie on nothing coarser than float rounding."""
        x = x[~np.isnan(x)]
        if not len(x):
            return None
        distinct = np.unique(x)
        values = distinct if len(distinct) <= max(QuantileMap.DISCRETE, len(x) / SMALL_SUPPORT) else None
        steps = _TIME_STEPS if datetime else tuple(10.0 ** k for k in range(6, -7, -1))
        step = next((s for s in steps if _on_grid(distinct, s)), None)
        if step is None and values is None:
            return None
        return cls(step, values)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """``x`` on the support: the nearest observed value when they are few, else the nearest grid point."""
        if self.values is not None:
            right = np.clip(np.searchsorted(self.values, x), 1, max(len(self.values) - 1, 1))
            left = right - 1
            if len(self.values) == 1:
                return np.full_like(x, self.values[0], dtype=np.float64)
            nearer_left = np.abs(x - self.values[left]) <= np.abs(self.values[right] - x)
            return np.where(np.isnan(x), np.nan, np.where(nearer_left, self.values[left], self.values[right]))
        return self.round(x)

    def round(self, x: np.ndarray) -> np.ndarray:
        """``x`` rounded to the grid (unchanged without one): dates stay dates in a model's best values too."""
        if self.step is None:
            return x
        multiples = np.round(x / self.step)
        if self.step < 1:
            # k / 10**d is the double nearest the decimal k·10**-d, as a value read from text is; k * 0.1 is
            # not (56 * 0.1 = 5.6000000000000005), and a classifier tells such values from the data's
            return multiples / np.round(1 / self.step)
        return multiples * self.step

    def to_state(self) -> dict[str, Any]:
        """The support as JSON values."""
        return {"step": self.step, "values": None if self.values is None else self.values.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Support:
        """The support :meth:`to_state` wrote, checked."""
        step, values = state.get("step"), state.get("values")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0):
            raise ValueError("a column support's step is not a positive number.")
        if values is not None:
            values = np.asarray(values, dtype=np.float64)
            if values.ndim != 1 or not len(values) or not np.all(np.diff(values) > 0):
                raise ValueError("a column support's values are not increasing numbers.")
        return cls(step, values)


def _on_grid(values: np.ndarray, step: float) -> bool:
    """Every value is a whole multiple of ``step`` (to float rounding of the values themselves)."""
    scaled = values / step
    if np.abs(scaled).max() > 2 ** 52:  # beyond exact integers: no grid can be told
        return False
    tolerance = 1e-9 * np.maximum(1.0, np.abs(scaled))
    return bool(np.all(np.abs(scaled - np.round(scaled)) <= tolerance))


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
