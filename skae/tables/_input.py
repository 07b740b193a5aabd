"""The input adapter: which kind of input X is, decided once, and everything done with its rows.

Every estimator method hands its X to :func:`validate_rows` and from then on
works with a :class:`Rows`, whichever X was:

* an array or DataFrame in memory (validated by scikit-learn's ``validate_data``);
* a ``numpy.memmap`` on disk, read block by block (its first rows are validated
  here; NaN/inf are reported with their row number as blocks are read);
* image arrays ``(n, C, H, W)`` or ``(n, H, W)``, seen as flat rows of C·H·W values;
* a DataFrame with categorical or boolean columns, encoded by :mod:`skae.tabular`.

Missing entries (NaN, ``None``, ``pd.NA``) are kept as NaN in the values: the
statistics count observed entries only, and the models treat NaN as "missing"
(:mod:`skae.likelihoods`).  Infinity is refused.  A row with every entry
missing is an error, and so is a column with no observed value at fit.

:class:`Rows` gives the column statistics (streamed, see :mod:`skae.tables._scaling`),
the training dataset, scaled row chunks for inference, and outputs shaped like
the input (images stay images).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import validate_data

from ._datasets import BLOCK_ROWS, StreamingData, TensorData, read_rows
from ._layout import ColumnLayout, is_mixed_frame
from ._scaling import ColumnStats, Scaler, column_stats

__all__ = ["Rows", "ScaledRows", "check_values", "fit_image_shape", "take_rows", "validate_rows"]

_FLOAT_DTYPES = (np.float64, np.float32)


class Rows:
    """Validated input rows: in memory, or on disk and read in blocks.

    Parameters
    ----------
    values : ndarray, numpy.memmap or PackedTable of shape (n_samples, n_features)
        A table's rows stay packed (:mod:`skae.tables._packed`): categories as codes, one-hot slots made per chunk.
    on_disk : bool
        ``values`` is a memmap to read block by block.
    input_shape : tuple
        Shape of what the caller passed (images keep their (n, C, H, W)).
    layout : ColumnLayout or None
        For a mixed-type DataFrame: how its columns became ``values``' slots.
    """

    def __init__(self, values: np.ndarray, *, on_disk: bool, input_shape: tuple[int, ...],
                 layout: ColumnLayout | None = None, missing: bool | None = None):
        self.values, self.on_disk, self.input_shape, self.layout = values, on_disk, input_shape, layout
        #: the values hold NaN for missing entries (None: not known without reading them, a memmap)
        self.missing = missing

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns (encoded slots for a mixed-type table)."""
        return int(self.values.shape[1])

    def __len__(self) -> int:
        return self.n_samples

    @property
    def dtype(self) -> np.dtype:
        """The dtype results are returned in: float32 for float32 input, float64 otherwise."""
        return np.dtype(np.float32) if self.values.dtype == np.float32 else np.dtype(np.float64)

    def blocks(self, size: int | None = None) -> Iterator[np.ndarray]:
        """Consecutive blocks of raw rows; blocks read from disk are checked for infinity and empty rows."""
        size = size or BLOCK_ROWS
        for start in range(0, self.n_samples, size):
            if self.on_disk:
                block = read_rows(self.values, start, start + size)
                check_values(block, start)
            else:
                block = self.values[start:start + size]
            yield block

    def stats(self) -> ColumnStats:
        """Per-feature count of observed entries, mean, variance, min and max, merged over blocks."""
        stats = column_stats(self.blocks())
        if self.missing is None:
            self.missing = bool((stats.n < self.n_samples).any())
        return stats

    def scaled(self, scaler: Scaler, unit_interval: bool = False) -> ScaledRows:
        """The rows seen through ``scaler``, scaled one slice at a time (for inference).

        With ``unit_interval``, a model that needs data in [0, 1] warns (once) when
        the scaled rows leave it.
        """
        return ScaledRows(self, scaler, unit_interval)

    def training_data(self, scaler: Scaler, device: str, conditions: torch.Tensor | None):
        """Scaled tensors on ``device``, or a block stream for rows on disk."""
        if self.on_disk:

            def scale(raw):
                return np.asarray(scaler.transform(raw), dtype=np.float32)

            return StreamingData(self.values, scale, device, conditions)
        return TensorData.of(scaler.transform_float32(self.values), device, conditions)

    def like_input(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (one output row per input row) shaped like the caller's input."""
        if len(self.input_shape) >= 3 and rows.shape[1:] == (self.n_features,):
            return rows.reshape(self.input_shape)
        return rows


class ScaledRows:
    """Rows seen through a scaler: the :class:`~skae.model._chunks.RowSource` inference reads.

    The runner reads a chunk with :meth:`read`, lays its rows out, and hands the
    float32 batch to :meth:`finish`, which scales it in place and checks it:
    scaling after the layout saves a pass over the data.  A column whose mean is
    large against its scale is centred in the input's precision before anything
    is cast to float32 (:attr:`Scaler.needs_precise_centring`).  Infinity and
    rows with every entry missing are reported here with their row number, so
    inference needs no separate pass over X (NaN, a missing entry, goes on to
    the model); ``dtype`` is the dtype results are returned in (the input's).
    """

    def __init__(self, rows: Rows, scaler: Scaler, unit_interval: bool = False):
        self.rows, self.scaler, self.unit_interval = rows, scaler, unit_interval
        self.dtype = rows.dtype
        self.precise = scaler.needs_precise_centring

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as stored (float32 or float64), or centred float32 on the precise path."""
        block = read_rows(self.rows.values, start, stop) if self.rows.on_disk else self.rows.values[start:stop]
        if self.rows.on_disk or self.precise:
            with np.errstate(invalid="ignore"):
                check_values(block, start)
        block = np.asarray(block)
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
        return self.scaler.centre_float32(block) if self.precise else block

    def finish(self, batch: np.ndarray, raw: np.ndarray, start: int) -> np.ndarray:
        """Scale the laid-out float32 ``batch`` of rows ``raw`` in place and check it."""
        with np.errstate(over="ignore", invalid="ignore"):
            self.scaler.scale_float32_(batch, centred=self.precise)
            complete = np.isfinite(batch.sum())
        if not complete:
            check_values(raw, start)  # infinity in X, or rows with nothing observed
            with np.errstate(over="ignore", invalid="ignore"):
                overflow = np.isinf(batch).any(axis=0)
            if overflow.any():  # finite in X, beyond float32 once scaled
                bad = int(np.flatnonzero(overflow)[0])
                raise ValueError(
                    f"X's column {bad} reaches {np.nanmax(np.abs(np.asarray(raw[:, bad], dtype=np.float64))):.3g}, "
                    "beyond float32 after the fitted scaling (the network computes in float32). Rescale or clip "
                    "that column."
                )
        if self.unit_interval and len(raw):
            lo, hi = float(np.nanmin(batch)), float(np.nanmax(batch))  # padding rows sit at the image of 0
            if lo < 0 or hi > 1:
                self.unit_interval = False  # once per call
                warnings.warn(
                    f"X has values outside [0, 1] (rows {start}-{start + len(raw) - 1} range over [{lo:.4g}, "
                    f"{hi:.4g}] after scaling), but this model's Bernoulli/BCE likelihood is defined on [0, 1]: "
                    "such rows score as anomalous. Rescale X the way the training data was scaled.",
                    UserWarning, stacklevel=4,
                )
        return batch


def validate_rows(estimator, X, *, reset: bool, image_shape: tuple[int, ...] | None = None,
                  layout: ColumnLayout | None = None, check_finite: bool = True, training: bool = False,
                  handle_unknown: str | None = None, quantile: bool = False) -> Rows:
    """Validate X for ``estimator`` and return its rows.

    Parameters
    ----------
    estimator : estimator
        Only scikit-learn's ``validate_data`` uses it: it records (``reset=True``)
        or checks ``n_features_in_`` and ``feature_names_in_``, with
        scikit-learn's own messages.  Nothing else is written on it.
    reset : bool
        True in ``fit``: X defines the input; the mixed-type layout of a
        DataFrame with categorical or boolean columns is detected.
    image_shape : tuple (C, H, W) or None
        The shape image arrays must have, or None when only 2-D X is taken.
    layout : ColumnLayout or None
        With ``reset=False``: the fitted layout X must follow (None: numeric data).
    check_finite : bool
        False leaves infinity and empty rows to be found where the rows are
        read (:class:`ScaledRows` does it for inference).
    training : bool
        The rows are trained on: a table's unknown categories (with
        ``handle_unknown="ignore"``) become missing entries (:meth:`ColumnLayout.encode`).
    handle_unknown : {"error", "ignore"} or None
        For a table's unknown categories; None: the estimator's ``handle_unknown``.
    quantile : bool
        With ``reset``: a DataFrame's numeric columns go through quantile maps
        (``scaling="quantile"``), a numeric DataFrame included.
    """
    owner = type(estimator).__name__
    if reset:
        if quantile and not isinstance(X, pd.DataFrame):
            raise ValueError(
                f"scaling='quantile' maps the numeric columns of a DataFrame onto a normal distribution (and back "
                f"on output); X is a {type(X).__name__}. Pass a DataFrame, or choose another scaling."
            )
        # a DataFrame is a table, numeric or not: its columns keep their names, dtypes and own scales on output
        layout = ColumnLayout.from_frame(X, quantile=quantile) if isinstance(X, pd.DataFrame) else None
    elif layout is None and is_mixed_frame(X):
        raise TypeError(
            f"{owner} was fitted on numeric data; X has categorical or boolean columns. "
            "Pass the numeric columns it was fitted on, or refit on the DataFrame to model them."
        )
    elif layout is not None and layout.all_numeric and not isinstance(X, pd.DataFrame):
        # an array for a model fitted on a numeric table: scikit-learn's check of the count (and its warning
        # about the missing names), then the array as the table's columns
        X = validate_data(estimator, X, reset=False, dtype=None, ensure_all_finite=False)
        X = pd.DataFrame(np.asarray(X), columns=layout.labels)
    if layout is not None:
        layout.check_columns(X, owner)
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        unknown = str(handle_unknown or getattr(estimator, "handle_unknown", "error"))
        values = layout.pack(X, unknown, training=training or reset)  # categories stay codes (skae.tables._packed)
        # a PackedTable reads as its dense slots to numpy (np.asarray, slicing, shape): Rows takes it as an array
        rows = Rows(cast(np.ndarray, values), on_disk=False, input_shape=values.shape, layout=layout)
        return _checked(rows, reset, layout.names)
    if isinstance(X, np.memmap):
        if X.ndim != 2:
            raise ValueError(
                f"A numpy.memmap X must be 2-D (n_samples, n_features); got shape {X.shape}. "
                "Store images flattened, with architecture__image_shape=(C, H, W)."
            )
        # shape, dtype and feature count from the first rows; infinity and empty rows where blocks are read
        validate_data(estimator, read_rows(X, 0, 2), dtype=_FLOAT_DTYPES, reset=reset, ensure_all_finite=False)
        return Rows(X, on_disk=True, input_shape=X.shape)
    shape = tuple(getattr(X, "shape", ()))
    flat = _flatten_images(X, image_shape, owner)
    values = validate_data(estimator, flat, dtype=_FLOAT_DTYPES, reset=reset, ensure_all_finite=False)
    rows = Rows(values, on_disk=False, input_shape=shape if len(shape) >= 3 else values.shape)
    return _checked(rows, reset, getattr(estimator, "feature_names_in_", None)) if check_finite else rows


def _checked(rows: Rows, reset: bool, names) -> Rows:
    """``rows`` with ``missing`` set, after refusing infinity, empty rows and (at fit) empty columns."""
    values = rows.values
    with np.errstate(over="ignore", invalid="ignore"):
        total = values.sum()  # one pass: finite means no NaN and no infinity (sklearn's own first check)
    rows.missing = False
    if not np.isfinite(total):
        check_values(values, 0)
        rows.missing = bool(np.isnan(values).any())
    if rows.missing and reset and len(values):
        empty = np.flatnonzero(np.isnan(values).all(axis=0))
        if len(empty):
            j = int(empty[0])
            name = f" ({names[j]!r})" if names is not None and rows.layout is None else ""
            raise ValueError(
                f"X's column {j}{name} has no observed value: nothing can be learnt about it. Drop it "
                "(a ColumnTransformer or df.dropna(axis=1, how='all')), or impute it from another source."
                if rows.layout is None else
                f"X's column {rows.layout.slot_names[j].split('=')[0]!r} has no observed value: nothing can be "
                "learnt about it. Drop it (df.dropna(axis=1, how='all'))."
            )
    return rows


def fit_image_shape(X, architecture: Any, architecture_params: dict[str, Any]) -> tuple[int, ...] | None:
    """(C, H, W) of one image for an image architecture, or None for 2-D data.

    Taken from image-shaped training input (n, C, H, W) or (n, H, W), checked
    against ``architecture__image_shape`` when both are given.
    """
    declared = architecture_params.get("image_shape")
    if declared is not None:
        declared = tuple(int(s) for s in declared)
        declared = (1, *declared) if len(declared) == 2 else declared
    ndim = getattr(X, "ndim", 2)
    if ndim < 3 or isinstance(X, np.memmap):
        return declared
    if architecture != "conv" and "image_shape" not in architecture_params:
        raise ValueError(
            f"X has shape {tuple(X.shape)}, but architecture={architecture!r} takes 2-D X "
            "(n_samples, n_features). Flatten it with X.reshape(len(X), -1), or use "
            "architecture='conv' for images of shape (n, C, H, W)."
        )
    if ndim > 4:
        raise ValueError(f"Image input must be (n, C, H, W) or (n, H, W); got shape {tuple(X.shape)}.")
    shape = tuple(int(s) for s in X.shape[1:])
    shape = (1, *shape) if len(shape) == 2 else shape
    if declared is not None and declared != shape:
        raise ValueError(
            f"X holds images of shape {shape} (C, H, W), but architecture__image_shape="
            f"{architecture_params['image_shape']!r}; drop the parameter or make them agree."
        )
    return shape


def _flatten_images(X, image_shape: tuple[int, ...] | None, owner: str):
    """(n, C, H, W) or (n, H, W) input as (n, C·H·W) rows, as a Pipeline would pass them."""
    ndim = getattr(X, "ndim", 2)
    if ndim < 3:
        return X
    shape = tuple(int(s) for s in X.shape[1:])
    accepted = () if image_shape is None else (image_shape, image_shape[1:] if image_shape[0] == 1 else None)
    if shape not in accepted:
        what = f"images of shape {image_shape} (C, H, W)" if image_shape else "2-D X (n_samples, n_features)"
        raise ValueError(f"X has shape {tuple(X.shape)}, but {owner} takes {what}.")
    return X.reshape(X.shape[0], -1)


def take_rows(X, mask: np.ndarray):
    """The rows of X where ``mask`` holds, keeping a DataFrame a DataFrame (and a memmap's rows in memory)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[mask]
    return np.asarray(X)[mask] if not isinstance(X, np.memmap) else np.asarray(X[np.flatnonzero(mask)])


def check_values(block: np.ndarray, start: int) -> None:
    """Refuse infinity and rows with every entry missing (NaN) in ``block``, whose first row is row ``start``."""
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(block)
    if infinite.any():
        bad = int(np.flatnonzero(infinite.any(axis=1))[0])
        raise ValueError(
            f"Input X contains infinity (first in row {bad + start}). Replace it (by NaN, which skae treats as "
            "missing, or by a large finite value) or drop those rows."
        )
    if block.ndim == 2 and block.shape[1]:
        empty = np.isnan(block).all(axis=1)
        if empty.any():
            rows = (np.flatnonzero(empty)[:5] + start).tolist()
            raise ValueError(
                f"X has rows with every entry missing (rows {rows}{' ...' if empty.sum() > 5 else ''}): "
                "there is nothing to encode. Drop them (e.g. df.dropna(how='all'))."
            )
