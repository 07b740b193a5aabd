"""A table's encoded rows with each categorical column kept as one integer code: its one-hot slots unexpanded.

A categorical column of K categories is K one-hot slots of the encoded matrix
(:mod:`skae.tabular`): an identifier-like column of 4,000 categories over
4,000 rows is 16 million slots, 128 MB of float64 that are nearly all zeros.
:class:`PackedTable` holds such rows as the numbers of the other slots plus one
code per categorical column, and :class:`SlotPacking` expands them to the
dense slots where a model reads them: a batch in training, a chunk in
inference.  The network, the likelihood, corruptions and regularizers see the
same matrix as before, bit for bit; only the whole table is never dense.

A code is the category's index, :data:`MISSING` for a missing entry (NaN in
every slot of the column) or :data:`UNKNOWN` for a category not seen in fit
when scoring (no slot hot: :meth:`skae.tabular.ColumnLayout.encode`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["MISSING", "UNKNOWN", "PackedTable", "SlotPacking"]

#: the code of a missing entry
MISSING = -1
#: the code of a category not seen in fit (scoring only: in training it is a missing entry)
UNKNOWN = -2


class SlotPacking:
    """Which of a table's encoded slots are numbers, and which are the one-hot slots of its categorical columns.

    Parameters
    ----------
    width : int
        The number of encoded slots.
    ranges : sequence of (start, stop)
        Each categorical column's one-hot slots, in column order.
    """

    def __init__(self, width: int, ranges: Sequence[tuple[int, int]]):
        self.width, self.ranges = int(width), [(int(a), int(b)) for a, b in ranges]
        # the categorical column each slot belongs to; number slots belong to none (index len(ranges))
        owner = np.full(self.width, len(self.ranges), dtype=np.int64)
        for q, (start, stop) in enumerate(self.ranges):
            owner[start:stop] = q
        self.owner = owner
        self.number_slots = np.flatnonzero(owner == len(self.ranges))
        self.hot_slots = np.flatnonzero(owner < len(self.ranges))
        self.starts = np.asarray([a for a, _ in self.ranges], dtype=np.int64)
        self._on: dict[str, tuple[torch.Tensor, ...]] = {}

    def _index(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        key = str(device)
        if key not in self._on:  # once per device, not once per batch
            self._on[key] = tuple(torch.as_tensor(a, device=device) for a in (self.number_slots, self.starts, self.owner))
        return self._on[key]

    def expand(self, numbers: torch.Tensor, codes: torch.Tensor, complete: bool = False) -> torch.Tensor:
        """The dense slots of rows given by their ``numbers`` (number slots) and ``codes`` (one per column).

        ``complete``: the caller knows every code is a category (no missing
        entry, no unknown one), which saves a training batch four kernels.
        """
        number_slots, starts, owner = self._index(numbers.device)
        out = numbers.new_zeros((len(numbers), self.width))
        out[:, number_slots] = numbers
        if len(self.ranges) and complete:
            out.scatter_(1, starts + codes.long(), 1.0)
        elif len(self.ranges):
            codes = codes.long()
            out.scatter_(1, starts + codes.clamp(min=0), (codes >= 0).to(out.dtype))
            # no test for holes first: on a GPU it would wait for the device once per batch
            missing = torch.nn.functional.pad(codes == MISSING, (0, 1))  # number slots: never
            out.masked_fill_(missing[:, owner], float("nan"))
        return out


class PackedTable:
    """Encoded rows of a table as ``numbers`` and ``codes``: an array-like of the dense matrix's shape.

    Rows are taken as from an array (``table[start:stop]``, ``table[indices]``)
    and stay packed; ``np.asarray(table)`` and every other numpy operation
    see the dense slots (:meth:`dense`), so code that reads an array reads it
    unchanged, only at its full size.

    Parameters
    ----------
    numbers : ndarray of shape (n_samples, n_number_slots)
        The number slots (numeric, datetime and boolean columns), in slot order.
    codes : int ndarray of shape (n_samples, n_categorical_columns)
    packing : SlotPacking
    """

    ndim = 2

    def __init__(self, numbers: np.ndarray, codes: np.ndarray, packing: SlotPacking):
        self.numbers, self.codes, self.packing = numbers, codes, packing

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.numbers), self.packing.width

    @property
    def dtype(self) -> np.dtype:
        return self.numbers.dtype

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, key):
        if isinstance(key, tuple):  # rows and slots: the rows' dense slots
            return self[key[0]].dense()[(slice(None), *key[1:])]
        if isinstance(key, (int, np.integer)):
            return self[int(key):int(key) + 1 or None].dense()[0]
        return PackedTable(self.numbers[key], self.codes[key], self.packing)

    def with_numbers(self, numbers: np.ndarray) -> PackedTable:
        """The same rows with other numbers (scaled ones)."""
        return PackedTable(numbers, self.codes, self.packing)

    def dense(self) -> np.ndarray:
        """The encoded slots as one array."""
        return self.packing.expand(torch.from_numpy(np.asarray(self.numbers)), torch.from_numpy(self.codes)).numpy()

    def __array__(self, dtype=None, copy=None):
        out = self.dense()
        return out if dtype is None else out.astype(dtype, copy=False)

    def sum(self) -> float:
        """The sum of the dense slots: NaN with a missing entry anywhere (a one-hot slot counts its ones)."""
        if (self.codes == MISSING).any():
            return float("nan")
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.numbers.sum(dtype=np.float64) + np.count_nonzero(self.codes >= 0))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and ufunc in (np.isnan, np.isinf, np.isfinite) and len(inputs) == 1 and not kwargs:
            return self._flags(ufunc)
        inputs = tuple(np.asarray(a) if isinstance(a, PackedTable) else a for a in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def _flags(self, ufunc) -> np.ndarray:
        """``ufunc(dense)`` for NaN / infinity tests, without the dense floats (one byte per slot)."""
        packing = self.packing
        out = np.empty(self.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            out[:, packing.number_slots] = ufunc(self.numbers)
        missing = np.pad(self.codes == MISSING, ((0, 0), (0, 1)))[:, packing.owner[packing.hot_slots]]
        out[:, packing.hot_slots] = missing if ufunc is np.isnan else ~missing if ufunc is np.isfinite else False
        return out
