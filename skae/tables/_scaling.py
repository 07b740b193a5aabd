"""Per-feature scaling done inside the model, fitted from numerically stable streaming statistics.

Column statistics are accumulated block by block with the pairwise update of
Chan, Golub & LeVeque ("Updating formulae and a pairwise algorithm for computing
sample variances", 1979): each block contributes its own two-pass mean and sum
of squared deviations, and blocks are merged exactly.  An array in memory and
the same array streamed from disk go through the same blocks, so they get the
same statistics; a column offset far from zero (1e8 + N(0, 1)) keeps its
variance, which the one-pass ``E[x²] − E[x]²`` loses to cancellation.

Missing entries (NaN) are left out: each column has its own count of observed
entries, and a slice without NaN takes the plain path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._packed import MISSING, PackedTable

__all__ = ["ColumnStats", "ObservedMeans", "Scaler", "column_stats"]

_EPS = np.finfo(np.float64).eps
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ColumnStats:
    """Count of observed entries, mean, sum of squared deviations (``m2``), minimum and maximum per column."""

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    min: np.ndarray
    max: np.ndarray

    def merge(self, other: ColumnStats) -> ColumnStats:
        """The statistics of both sets of rows (Chan et al.'s pairwise update, per column)."""
        n = self.n + other.n
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            delta = other.mean - self.mean
            mean = self.mean + delta * (other.n / n)
            m2 = self.m2 + other.m2 + np.square(delta) * (self.n * other.n / n)
        if (self.n == 0).any() or (other.n == 0).any():  # a column one side never observed
            mean = np.where(self.n == 0, other.mean, np.where(other.n == 0, self.mean, mean))
            m2 = np.where(self.n == 0, other.m2, np.where(other.n == 0, self.m2, m2))
        return ColumnStats(n, mean, m2, np.fmin(self.min, other.min), np.fmax(self.max, other.max))

    @property
    def var(self) -> np.ndarray:
        """Population variance per column (of its observed entries)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.m2 / self.n


def column_stats(blocks: Iterable[np.ndarray | PackedTable]) -> ColumnStats:
    """Merge the statistics of row blocks (in the order given).

    The blocks are accumulated relative to the first block's mean, so block
    means stay small and exact even for data far from zero (a mean near 1e8
    is only representable to 1.5e-8, which the merge would amplify).  Each
    block is processed in slices of about 1 MB of float64, which stay in the
    processor's cache.  Packed blocks of a table (:class:`~skae.tables._packed.PackedTable`)
    never become dense: a one-hot slot's statistics are counts.
    """
    rest: Iterator[Any] = iter(blocks)
    first = next(rest, None)
    if first is None:
        raise ValueError("column_stats needs at least one block of rows.")
    if isinstance(first, PackedTable):
        return _packed_stats(itertools.chain([first], rest))
    return _dense_stats(itertools.chain([first], rest))


def _dense_stats(blocks: Iterable[np.ndarray], width: int | None = None) -> ColumnStats:
    """:func:`column_stats` of arrays, in slices of rows as if each row had ``width`` values (default: its own)."""
    stats = shift = buffer = None
    for block in blocks:
        block = np.asarray(block)
        if shift is None:
            with np.errstate(over="ignore", invalid="ignore"):
                head = np.asarray(block[: min(len(block), 4096)], dtype=np.float64)
                shift = head.mean(0)
                if np.isnan(shift).any():  # missing entries: the observed ones' mean
                    counts = (~np.isnan(head)).sum(0)
                    shift = np.where(counts > 0, np.nansum(head, 0) / np.maximum(counts, 1), 0.0)
            shift = np.where(np.isfinite(shift), shift, 0.0)
        step = max(16, (1 << 17) // max(width or block.shape[1], 1))
        for start in range(0, len(block), step):
            part = block[start:start + step]
            if buffer is None or buffer.shape[0] < len(part):
                buffer = np.empty((step, block.shape[1]), dtype=np.float64)
            stats = _merge(stats, _slice_stats(part, shift, buffer[: len(part)]))
    assert stats is not None, "column_stats has checked that there is a block"
    return ColumnStats(stats.n, stats.mean + shift, stats.m2, stats.min, stats.max)


def _packed_stats(blocks: Iterable[PackedTable]) -> ColumnStats:
    """:func:`column_stats` of a packed table's blocks: the number slots as the dense slots would give them.

    The number slots go through the dense path in the slices the dense rows
    would have had, so their statistics are the same to the last bit (so are
    the scaler's mean and scale: a model fitted on packed rows is the same
    model).  numpy sums a single column pairwise but the columns of a wider
    array row by row, so a lone number slot gets a zero column beside it.
    A one-hot slot's statistics are those of 0/1 values, from counts: n
    observed rows of its column, c of them in its category, mean c/n and
    m2 = c (1 - c/n).
    """
    blocks = iter(blocks)
    first = next(blocks)
    packing = first.packing
    observed = np.zeros(len(packing.ranges) + 1, dtype=np.int64)  # the last: number slots' owner, never counted
    hot = np.zeros(packing.width, dtype=np.int64)

    def numbers():
        for block in itertools.chain([first], blocks):
            codes = np.asarray(block.codes)
            observed[:-1] += (codes != MISSING).sum(0)
            hot[:] += np.bincount((packing.starts + codes)[codes >= 0], minlength=packing.width)
            values = np.asarray(block.numbers, dtype=np.float64)
            yield values if values.shape[1] != 1 else np.pad(values, ((0, 0), (0, 1)))

    part = _dense_stats(numbers(), width=packing.width)
    slots, hots = packing.number_slots, packing.hot_slots
    n, mean, m2 = np.zeros(packing.width, dtype=np.int64), np.zeros(packing.width), np.zeros(packing.width)
    low, high = np.zeros(packing.width), np.zeros(packing.width)
    for whole, numbers_part in zip((n, mean, m2, low, high), (part.n, part.mean, part.m2, part.min, part.max)):
        whole[slots] = numbers_part[: len(slots)]
    n[hots], count = observed[packing.owner[hots]], hot[hots]
    p = count / np.maximum(n[hots], 1)
    mean[hots], m2[hots] = p, count * (1 - p)
    low[hots] = np.where(n[hots] == 0, np.nan, np.where(count < n[hots], 0.0, 1.0))
    high[hots] = np.where(n[hots] == 0, np.nan, np.where(count > 0, 1.0, 0.0))
    return ColumnStats(n, mean, m2, low, high)


def _slice_stats(part: np.ndarray, shift: np.ndarray, buffer: np.ndarray) -> ColumnStats:
    """Two-pass statistics of ``part - shift`` (min and max of ``part`` itself), computed in ``buffer``."""
    with np.errstate(over="ignore", invalid="ignore"):
        np.subtract(part, shift, out=buffer)
        mean = buffer.sum(0) / len(part)
        if np.isnan(mean).any() and np.isnan(buffer).any():
            return _observed_stats(part, buffer)
        buffer -= mean
        m2 = np.einsum("ij,ij->j", buffer, buffer)
    n = np.full(len(mean), len(part), dtype=np.int64)
    return ColumnStats(n, mean, m2, part.min(0).astype(np.float64), part.max(0).astype(np.float64))


def _observed_stats(part: np.ndarray, buffer: np.ndarray) -> ColumnStats:
    """The statistics of a slice's observed entries (``buffer`` holds ``part - shift``, NaN where missing)."""
    observed = ~np.isnan(buffer)
    n = observed.sum(0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        np.copyto(buffer, 0.0, where=~observed)
        mean = buffer.sum(0) / n
        buffer -= mean
        np.copyto(buffer, 0.0, where=~observed)
        m2 = np.einsum("ij,ij->j", buffer, buffer)
        low = np.where(observed, part, np.inf).min(0).astype(np.float64)
        high = np.where(observed, part, -np.inf).max(0).astype(np.float64)
    empty = n == 0
    return ColumnStats(n, np.where(empty, 0.0, mean), np.where(empty, 0.0, m2), np.where(empty, np.nan, low),
                       np.where(empty, np.nan, high))


class ObservedMeans:
    """Each column's mean over its observed (not NaN) entries in row pieces, as one sum over all rows would give it.

    numpy sums an array of several columns row after row, so pieces fold into
    running sums; a single column it sums pairwise, so that one's pieces (a
    few thousand values: :data:`skae.model._fitted.TRAINING_CODES`) are kept and
    summed at once.
    """

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.count: np.ndarray | None = None
        self.kept: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        """Count the piece ``values`` in (its missing entries are set to 0 in place)."""
        observed = ~np.isnan(values)
        np.copyto(values, 0.0, where=~observed)
        self.count = observed.sum(0) if self.count is None else self.count + observed.sum(0)
        if values.shape[1] == 1:
            self.kept.append(values)
        else:
            self.total = values.sum(0) if self.total is None else np.vstack([self.total, values]).sum(0)

    def mean(self) -> np.ndarray:
        """The means (NaN for a column with no observed entry)."""
        total = np.concatenate(self.kept).sum(0) if self.kept else self.total
        assert total is not None and self.count is not None, "a piece was added"
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / self.count


def shares_a_range(stats: ColumnStats) -> bool:
    """The columns share a range, as pixels do: the median column's range is at least half the widest one's.

    Then one unit is shared, and one global scale keeps the relative
    geometry a user of such data judges errors in (the raw-unit error, as PCA
    minimises it).  Columns in unrelated units (a wine table: 0.1 to 1,680)
    need a scale each, or the widest column is all the model learns
    (benchmarks/results_scaling.md: a standardised error of 1.11 on wine with
    one scale, 0.15 with one per column).  Constant columns are left out.
    """
    spans = np.asarray(stats.max - stats.min, dtype=np.float64)
    spans = spans[np.isfinite(spans) & (spans > 0)]
    return bool(len(spans) == 0 or np.median(spans) >= 0.5 * spans.max())


def _merge(stats: ColumnStats | None, part: ColumnStats) -> ColumnStats:
    return part if stats is None else stats.merge(part)


class Scaler:
    """``(x − mean) / scale`` per feature, and its inverse; fitted by :meth:`fit`.

    The inverse keeps to the range each feature was observed in at fit: a
    decoder's output is linear in its last layer, so a code far from the
    training codes (a row with a value beyond anything seen) would otherwise
    decode to values no training row had, in every feature at once.  Bounding
    what the model returns is the last guard; :meth:`bounds` is what keeps the
    encoder's input in range in the first place (:meth:`skae.model._fitted.FittedModel.encoder_input`).

    Attributes
    ----------
    mean, scale : ndarray of shape (n_features,), float64
    low, high : ndarray of shape (n_features,), float64, or None
        The smallest and largest observed value of each feature at fit, in X's
        units (None in model files written before the range was kept).
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray, low: np.ndarray | None = None,
                 high: np.ndarray | None = None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        if (low is None) != (high is None):
            raise ValueError("a scaler's range needs both its low and its high end.")
        self.low = None if low is None else np.asarray(low, dtype=np.float64)
        self.high = None if high is None else np.asarray(high, dtype=np.float64)
        if self.low is not None and (self.low.shape != self.mean.shape or self.high.shape != self.mean.shape  # type: ignore[union-attr]
                                     or not (self.low <= self.high).all()):  # type: ignore[operator]
            raise ValueError("a scaler's range does not match its features.")

    @classmethod
    def fit(
        cls,
        stats: ColumnStats,
        mode: str | None,
        *,
        feature_names: Sequence[str] | None = None,
        unit_interval: bool = False,
        passthrough: np.ndarray | None = None,
    ) -> Scaler:
        """Fit from column statistics.

        Parameters
        ----------
        stats : ColumnStats
        mode : {"auto", None, "global", "standard", "minmax"}
            The ``scaling`` parameter.  "auto": no scaling for data in [0, 1]
            (``unit_interval``); "global" for an array whose columns share a
            range (:func:`shares_a_range`: pixels, counts of one kind);
            "standard" for a table (``passthrough`` given) and for an array
            whose columns are in unrelated units (benchmarks/results_scaling.md).
            None: no scaling.  "global": centre each feature, divide by one
            overall standard deviation.  "standard": centre and divide by each
            feature's standard deviation.  "minmax": map each feature to [0, 1].
        feature_names : sequence of str or None
            Used in error messages.
        unit_interval : bool
            The model needs scaled data in [0, 1] (Bernoulli likelihood, BCE loss).
        passthrough : bool ndarray of shape (n_features,) or None
            Columns left as they are: the one-hot and 0/1 indicator columns of
            mixed-type data (:mod:`skae.tabular`); given for every table (a
            DataFrame), numeric or not, and then "auto" means "standard": a
            table's numeric columns are in unrelated units.
        """
        names = list(feature_names) if feature_names is not None else None
        if (stats.n == 0).any():
            j = int(np.flatnonzero(stats.n == 0)[0])
            raise ValueError(f"X's column {j}{f' ({names[j]!r})' if names else ''} has no observed value: nothing "
                             "can be learnt about it. Drop it, or impute it from another source.")
        keep = np.zeros(len(stats.mean), dtype=bool) if passthrough is None else np.asarray(passthrough, dtype=bool)
        mixed = passthrough is not None  # a table: its columns are in unrelated units
        scaling_param = mode
        if mode == "auto":
            mode = None if unit_interval else "global" if not mixed and shares_a_range(stats) else "standard"
        elif mode == "quantile":  # the columns arrive mapped onto N(0, 1) (skae.tabular.QuantileMap)
            mode = "standard"

        def column(j: int) -> str:
            return f"column {j}" + (f" ({names[j]!r})" if names is not None else "")

        magnitude = np.maximum(np.abs(stats.min), np.abs(stats.max))
        reference = magnitude  # what "constant" is relative to
        n_features = len(stats.mean)
        with np.errstate(over="ignore", invalid="ignore"):
            if mode is None:
                mean, scale = np.zeros(n_features), np.ones(n_features)
                bad = np.zeros(n_features, dtype=bool)
            elif mode in ("global", "standard"):
                bad = ~(np.isfinite(stats.mean) & np.isfinite(stats.var))
                mean, scale = stats.mean, np.sqrt(stats.var)
                if mode == "global":
                    numeric = ~keep
                    scale = np.full(n_features, float(np.sqrt(stats.var[numeric].mean())))
                    reference = np.full(n_features, magnitude[numeric].max())
            elif mode == "minmax":
                mean, scale = stats.min, stats.max - stats.min
                bad = ~np.isfinite(scale)
            else:
                raise ValueError(f"Unknown scaling mode {mode!r}.")
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"X's {column(j)} holds values too large to scale (largest |x| = {magnitude[j]:.3g}; its "
                f"statistics overflow float64). Rescale or clip that column, or drop the extreme rows."
            )
        # a column is constant when its spread is at rounding level *relative to its magnitude*,
        # so data measured in tiny units (1e-15) keeps its scale
        scale = np.where(scale > 100 * _EPS * reference, scale, 1.0)
        if mixed:
            mean, scale = np.where(keep, 0.0, mean), np.where(keep, 1.0, scale)
        scaler = cls(mean, scale, stats.min, stats.max)
        lo = (stats.min - scaler.mean) / scaler.scale
        hi = (stats.max - scaler.mean) / scaler.scale
        too_big = np.maximum(np.abs(lo), np.abs(hi)) >= _FLOAT32_MAX
        if too_big.any():
            j = int(np.flatnonzero(too_big)[0])
            raise ValueError(
                f"X's {column(j)} reaches {magnitude[j]:.3g}, beyond float32 after scaling={scaling_param!r} "
                "(the network computes in float32). Rescale that column, or use scaling='standard'."
            )
        scaler.check_range(stats, unit_interval, scaling_param)
        return scaler

    def check_range(self, stats: ColumnStats, unit_interval: bool, scaling_param: str | None = None) -> None:
        """A Bernoulli/BCE model trains only on data in [0, 1] after scaling."""
        if not unit_interval:
            return
        lo = ((stats.min - self.mean) / self.scale).min()
        hi = ((stats.max - self.mean) / self.scale).max()
        if lo < 0 or hi > 1:
            where = f" (after scaling={scaling_param!r})" if scaling_param else " after the fitted scaling"
            raise ValueError(
                f"A Bernoulli/BCE model needs data in [0, 1]; X{where} ranges over [{lo:.4g}, {hi:.4g}]. "
                "Rescale X (e.g. MinMaxScaler, or divide pixels by 255) or use scaling='minmax'."
            )

    @property
    def is_identity(self) -> bool:
        return not self.mean.any() and bool((self.scale == 1).all())

    def transform(self, X: np.ndarray, dtype=None) -> np.ndarray:
        """Scaled copy of X in ``dtype`` (default: float32 stays float32, anything else becomes float64).

        A packed table (:class:`~skae.tables._packed.PackedTable`) stays packed: its
        number slots are scaled, and its one-hot slots, which a table's scaler
        leaves as they are, stay codes.
        """
        if isinstance(X, PackedTable):
            numbers = self._of_numbers(X)
            return self.transform(X.dense(), dtype) if numbers is None else \
                X.with_numbers(numbers.transform(X.numbers, dtype))
        if dtype is None:
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if self.is_identity:
            return X.astype(dtype, copy=False)
        Xs = np.subtract(X, self.mean.astype(dtype), dtype=dtype)
        Xs /= self.scale.astype(dtype)
        return Xs

    def transform_float32(self, X: np.ndarray, block: int = 16384) -> np.ndarray:
        """``transform(X)`` cast to float32, computed block by block: no full-size float64 copy of X."""
        if isinstance(X, PackedTable):
            numbers = self._of_numbers(X)
            return self.transform_float32(X.dense(), block) if numbers is None else \
                X.with_numbers(numbers.transform_float32(X.numbers, block))
        if X.dtype == np.float32 or self.is_identity:
            return np.asarray(self.transform(X), dtype=np.float32)
        out = np.empty(X.shape, dtype=np.float32)
        for start in range(0, len(X), block):
            out[start:start + block] = self.transform(X[start:start + block])
        return out

    def _of_numbers(self, X: PackedTable) -> Scaler | None:
        """The scaling of X's number slots; None unless it leaves the one-hot slots as they are."""
        hots, slots = X.packing.hot_slots, X.packing.number_slots
        if self.mean[hots].any() or not (self.scale[hots] == 1).all():
            return None
        return Scaler(self.mean[slots], self.scale[slots])

    @property
    def needs_precise_centring(self) -> bool:
        """Some column's mean is large against its scale (e.g. 1e8 + N(0, 1)).

        Casting such a column to float32 *before* centring it would lose its
        variation (1e8 has a float32 resolution of 8); below 4 scales, casting
        first costs at most a few float32 rounding steps.
        """
        return bool((np.abs(self.mean) > 4 * self.scale).any())

    def centre_float32(self, X: np.ndarray) -> np.ndarray:
        """``X − mean`` computed in X's precision, returned as float32 (the precise path)."""
        out = np.empty(X.shape, dtype=np.float32)
        np.subtract(X, self.mean, out=out, casting="same_kind")
        return out

    def scale_float32_(self, batch: np.ndarray, centred: bool) -> np.ndarray:
        """Finish scaling a float32 batch in place: subtract the mean (unless ``centred``), divide by the scale."""
        if not self.is_identity:
            if not centred:
                batch -= self.mean.astype(np.float32)
            batch /= self.scale.astype(np.float32)
        return batch

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The observed range at fit in scaled units, ``(low, high)``; None when no range was kept."""
        if self.low is None or self.high is None:
            return None
        return (self.low - self.mean) / self.scale, (self.high - self.mean) / self.scale

    def inverse_transform(self, Xs: np.ndarray) -> np.ndarray:
        """Scaled values back in X's units, within each feature's range at fit (NaN stays NaN)."""
        if self.is_identity:
            out = Xs
        else:
            out = Xs * self.scale.astype(Xs.dtype)
            out += self.mean.astype(Xs.dtype)
        return self.clip(out)

    def clip(self, X: np.ndarray) -> np.ndarray:
        """X (in X's units) within each feature's range at fit: what a decoded value or a draw may take."""
        if self.low is None or self.high is None:
            return X
        return np.clip(X, self.low.astype(X.dtype), self.high.astype(X.dtype))
