"""Training datasets: in-memory tensors, and on-disk arrays streamed block by block.

Both present the same small interface to :class:`BatchIterator` and
:class:`ValidationSplit` (``len``, ``split``, ``batches``, ``rows_at``), so the
skorch loop does not know which one it runs over.

* :class:`TensorData` holds the whole (scaled) data as tensors on the training
  device; batches are slices of a once-per-epoch permutation (no per-row
  collation).  A table's categorical columns stay one code each until a
  batch is taken (:mod:`skae.tables._packed`).
* :class:`StreamingData` wraps a ``numpy.memmap``: it reads one block of rows at
  a time from the file, scales it and moves it to the device, so neither RAM nor
  the device holds more than a block (plus the model).  Shuffling is two-level:
  a random order of blocks, and a random order of rows inside each block.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._packed import PackedTable, SlotPacking

__all__ = ["BLOCK_ROWS", "DENSE_VALUES", "BatchIterator", "StreamingData", "TensorData", "ValidationSplit", "read_row_set", "read_rows"]

#: rows per block read from disk by the streaming path
BLOCK_ROWS = 16384
#: a packed table's training rows are expanded once when they hold at most this many values (16 MB of float32)
DENSE_VALUES = 1 << 22


def _batches_of(x, c, batch_size):
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        yield x[start:stop], (None if c is None else c[start:stop])


class TensorData:
    """In-memory tensors ``(x, c)`` on the training device; ``c`` may be ``None``.

    A table's rows may be packed (:mod:`skae.tables._packed`): ``x`` then holds the
    number slots, ``codes`` one category per categorical column, and each
    batch is expanded to the encoded slots as it is taken, so the data cost
    one integer per row for a column of any number of categories.
    """

    def __init__(self, x: torch.Tensor, c: torch.Tensor | None = None, codes: torch.Tensor | None = None,
                 packing: SlotPacking | None = None, complete: bool | None = None):
        self.x, self.c, self.codes, self.packing = x, c, codes, packing
        #: every code is a category (known once, not per batch)
        self.complete = complete if complete is not None else codes is not None and not bool((codes < 0).any())

    @classmethod
    def of(cls, values: np.ndarray | PackedTable, device: str, c: torch.Tensor | None = None) -> TensorData:
        """Scaled rows (an array, or a packed table) as tensors on ``device``.

        A packed table whose dense rows are small (at most :data:`DENSE_VALUES`
        values) is expanded once: for a narrow table, expanding every batch cost
        a few per cent of each step, and the batches hold the same bits.
        """
        if isinstance(values, PackedTable) and values.shape[0] * values.shape[1] <= DENSE_VALUES:
            values = values.dense()
        if isinstance(values, PackedTable):
            codes = torch.as_tensor(values.codes, dtype=torch.long, device=device)
            return cls(torch.as_tensor(values.numbers, device=device), c, codes, values.packing)
        return cls(torch.as_tensor(values, device=device), c)

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, idx: torch.Tensor) -> TensorData:
        return TensorData(self.x[idx], None if self.c is None else self.c[idx],
                          None if self.codes is None else self.codes[idx], self.packing, self.complete)

    def split(self, fraction: float):
        n_valid = int(len(self) * fraction)
        perm = torch.randperm(len(self), device=self.x.device)
        return self.subset(perm[n_valid:]), self.subset(perm[:n_valid])

    def _rows(self, rows) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Rows ``rows`` (a slice or an index tensor) as the model reads them: encoded slots, conditions."""
        x = self.x[rows]
        if self.packing is not None and self.codes is not None:
            x = self.packing.expand(x, self.codes[rows], self.complete)
        return x, (None if self.c is None else self.c[rows])

    def batches(self, batch_size: int, shuffle: bool):
        data = self.subset(torch.randperm(len(self), device=self.x.device)) if shuffle else self
        return (data._rows(slice(start, start + batch_size)) for start in range(0, len(data), batch_size))

    def rows_at(self, idx: np.ndarray, packed: bool = False):
        """Scaled rows ``idx`` (and their conditions) as numpy arrays (with ``packed``, a table's stay packed)."""
        t = torch.as_tensor(idx, device=self.x.device)
        c = None if self.c is None else self.c[t].cpu().numpy()
        if packed and self.packing is not None and self.codes is not None:
            return PackedTable(self.x[t].cpu().numpy(), self.codes[t].cpu().numpy(), self.packing), c
        return self._rows(t)[0].cpu().numpy(), c

    def row_pieces(self, idx: np.ndarray, size: int):
        """``rows_at(idx)`` in consecutive pieces of at most ``size`` rows, a table's packed."""
        return (self.rows_at(idx[start:start + size], packed=True) for start in range(0, len(idx), size))


def _on_file(array: Any) -> bool:
    """Whether the rows of ``array`` can be read from its file instead of through the mapping.

    Not for copy-on-write maps (mode "c"): their changes live only in memory.
    """
    return (
        isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap) and bool(array.filename)
        and array.flags.c_contiguous and array.ndim == 2 and getattr(array, "mode", None) != "c"
    )


def read_row_set(array: Any, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted) of ``array``; file reads for a memmap (see :func:`read_rows`).

    Gathering scattered rows through the mapping would fault in whole
    neighbourhoods of pages (the kernel's fault-around), i.e. most of the file.
    """
    if not _on_file(array):
        return np.asarray(array[rows])
    row_bytes = array.shape[1] * array.dtype.itemsize
    out = np.empty((len(rows), array.shape[1]), dtype=array.dtype)
    with open(array.filename, "rb") as f:
        for i, r in enumerate(rows):
            f.seek(array.offset + int(r) * row_bytes)
            f.readinto(memoryview(out[i]).cast("B"))
    return out


def read_rows(array: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of ``array`` as an in-memory copy.

    For a ``numpy.memmap`` opened on a file, the rows are read with file I/O
    instead of through the mapping, so pages already used do not stay in the
    process's resident memory.
    """
    if _on_file(array):
        row_bytes = array.shape[1] * array.dtype.itemsize
        stop = min(stop, array.shape[0])
        count = max(stop - start, 0) * array.shape[1]
        out = np.fromfile(array.filename, dtype=array.dtype, count=count, offset=array.offset + start * row_bytes)
        return out.reshape(-1, array.shape[1])
    return np.array(array[start:stop])


class StreamingData:
    """Rows of an on-disk array, read, scaled and moved to ``device`` one block at a time.

    Parameters
    ----------
    array : numpy.memmap of shape (n_samples, n_features)
    scale : callable
        Maps a raw block (ndarray) to the scaled float32 block.
    device : str
    c : torch.Tensor or None
        Conditions for every row of ``array`` (in memory: they are small).
    rows : ndarray of int or None
        Sorted row indices this dataset covers (``None``: all).
    """

    def __init__(self, array, scale: Callable, device: str, c: torch.Tensor | None = None,
                 rows: np.ndarray | None = None, block_rows: int | None = None):
        self.array, self.scale, self.device, self.c = array, scale, device, c
        self.rows = np.arange(len(array)) if rows is None else rows
        self.block_rows = block_rows or BLOCK_ROWS

    def __len__(self) -> int:
        return len(self.rows)

    def _subset(self, rows: np.ndarray) -> StreamingData:
        return StreamingData(self.array, self.scale, self.device, self.c, np.sort(rows), self.block_rows)

    def split(self, fraction: float):
        n_valid = int(len(self) * fraction)
        perm = torch.randperm(len(self)).numpy()
        return self._subset(self.rows[perm[n_valid:]]), self._subset(self.rows[perm[:n_valid]])

    def _block(self, b: int):
        start, stop = b * self.block_rows, (b + 1) * self.block_rows
        lo, hi = np.searchsorted(self.rows, [start, stop])
        if lo == hi:
            return None
        raw = read_rows(self.array, start, stop)[self.rows[lo:hi] - start]
        x = torch.from_numpy(np.ascontiguousarray(self.scale(raw)))
        if torch.device(self.device).type == "cuda":  # page-locked: the copy overlaps the next block's read
            x = x.pin_memory().to(self.device, non_blocking=True)
        x = x.to(self.device)
        c = None if self.c is None else self.c[torch.as_tensor(self.rows[lo:hi], device=self.c.device)]
        return x, c

    def batches(self, batch_size: int, shuffle: bool):
        n_blocks = math.ceil(len(self.array) / self.block_rows)
        order = torch.randperm(n_blocks).tolist() if shuffle else range(n_blocks)
        carry_x = carry_c = None
        for b in order:
            block = self._block(b)
            if block is None:
                continue
            x, c = block
            if shuffle:
                perm = torch.randperm(len(x), device=x.device)
                x, c = x[perm], (None if c is None else c[perm])
            if carry_x is not None:  # keep batches full across block boundaries
                x = torch.cat([carry_x, x])
                c = None if c is None or carry_c is None else torch.cat([carry_c, c])
            n_full = len(x) - len(x) % batch_size
            yield from _batches_of(x[:n_full], None if c is None else c[:n_full], batch_size)
            carry_x, carry_c = x[n_full:], (None if c is None else c[n_full:])
        if carry_x is not None and len(carry_x):
            yield carry_x, carry_c

    def row_pieces(self, idx: np.ndarray, size: int):
        """``rows_at(idx)`` in consecutive pieces of at most ``size`` rows (in its order: the file's)."""
        idx = idx[np.argsort(self.rows[idx], kind="stable")]
        return (self.rows_at(idx[start:start + size]) for start in range(0, len(idx), size))

    def rows_at(self, idx: np.ndarray):
        rows = np.sort(self.rows[idx])
        x = self.scale(read_row_set(self.array, rows))
        c = None if self.c is None else self.c[torch.as_tensor(rows, device=self.c.device)].cpu().numpy()
        return x, c


class BatchIterator:
    """Batches of a :class:`TensorData` or :class:`StreamingData` (skorch's iterator slot)."""

    def __init__(self, dataset, batch_size: int = 128, shuffle: bool = False):
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), shuffle

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        return self.dataset.batches(self.batch_size, self.shuffle)


class ValidationSplit:
    """Random train/validation split (``fraction`` to validation), skorch's ``train_split`` slot."""

    def __init__(self, fraction: float):
        self.fraction = fraction

    def __call__(self, dataset, y=None, **kwargs):
        return dataset.split(self.fraction)
