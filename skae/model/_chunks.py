"""Running a trained module over rows: in float32, in chunks, each row's result independent of its neighbours.

float32 input takes a fast path (plain chunks; a row's result can differ in the
last bit with the rows around it).  Everything below is about other input,
float64 above all, which is what scikit-learn's contract is checked with.

scikit-learn asks that a row's result not depend on the other rows passed with
it (``check_methods_subset_invariance``).  On the CPU, a float32 matrix product
gives a row the same bits whatever its neighbours, *except* that some kernels
(narrow outputs over inputs whose width is not a multiple of 4) sum in another
order when the row does not start on a 16-byte boundary, and products of fewer
than 4 rows take another kernel.  So rows are laid out in lanes: a row is always
computed at a position whose index modulo 4 is a function of its own bits, and
elementwise kernels (which finish a tensor's last elements with scalar code)
never reach a real row: every chunk ends in padding rows.  Exact duplicates are
computed once.  Results are
then bit-identical across batchings (tests/test_inference.py), at about the
cost of a plain float32 pass, and are returned in the input's float dtype.

On CUDA, kernels are chosen by batch size, so results agree across batchings to
float32 rounding rather than bit for bit; chunks are passed as they come.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ..tables._packed import PackedTable
from ._device import cpu_threads

__all__ = ["INFERENCE_CHUNK", "LANE_VALUES", "ArrayRows", "LanePlan", "RowSource", "chunk_rows", "lane_plan", "run_chunks",
           "uses_lanes"]

INFERENCE_CHUNK = 1024  # rows per chunk: small enough that conversion and scaling stay in cache
# on the lane plan, wide rows (a table's one-hot slots) may come fewer at a time: a chunk's arrays then keep
# to about this many values each (see run_chunks' row_values), in chunks of at least MIN_LANE_ROWS rows
# (4 MB of float32: 784-pixel rows come 1,024 at a time; a third as many cost a quarter more per row in
# per-chunk work, benchmarks/results_fit.md)
LANE_VALUES = INFERENCE_CHUNK * 1024
MIN_LANE_ROWS = 128  # each chunk carries _TAIL_ROWS of padding
GPU_CHUNK = 65536  # rows per chunk on CUDA
LANES = 4  # 16-byte alignment of float32 rows
# elementwise kernels compute the last (numel mod 2 x vector width) elements with scalar code, which can
# differ in the last bit: trailing padding rows keep every real row in the vector loop (also keeps at
# least 4 rows per matrix product)
_TAIL_ROWS = 32
_MIX = np.uint32(2654435761)  # Knuth's multiplicative hash


class LanePlan:
    """Where each row of a chunk goes in the padded batch, and how results come back."""

    def __init__(self, keys: np.ndarray, parts: list[np.ndarray | None]):
        n = len(keys)
        self.first = np.arange(n)
        self.back = self.first
        ordered = np.sort(keys)
        if n > 1 and (ordered[1:] == ordered[:-1]).any():
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            if len(first) < n:  # duplicates, or keys that collide: share a result only between identical rows
                dup = np.flatnonzero(first[inverse] != self.first)
                identical = all(
                    (p.reshape(n, -1)[dup] == p.reshape(n, -1)[first[inverse[dup]]]).all() for p in parts if p is not None
                )
                if identical:
                    self.first, self.back = first, inverse
        unique_keys = keys[self.first]
        lanes = ((unique_keys * _MIX) >> np.uint32(30)).astype(np.intp)  # top two bits: lane 0..3
        order = np.argsort(lanes, kind="stable")
        counts = np.bincount(lanes, minlength=LANES)
        rank = np.empty(len(lanes), dtype=np.intp)
        rank[order] = np.arange(len(lanes)) - np.repeat(np.cumsum(counts) - counts, counts)
        self.slots = lanes + LANES * rank
        self.size = LANES * int(counts.max()) + _TAIL_ROWS
        used = np.zeros(self.size, dtype=bool)
        used[self.slots] = True
        self.unused = np.flatnonzero(~used)

    def pad(self, part: np.ndarray) -> np.ndarray:
        out = np.empty((self.size, *part.shape[1:]), dtype=np.float32)
        out[self.unused] = 0.0
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, which the source then reports
            out[self.slots] = part if len(self.first) == len(part) else part[self.first]
        return out

    def unpad(self, result: np.ndarray) -> np.ndarray:
        return result[self.slots][self.back]


def lane_plan(parts: list[np.ndarray | None]) -> LanePlan:
    """The lane plan of one chunk of rows (``parts``: the row arrays fed to the module, float32 or float64)."""
    keys: np.ndarray | None = None
    for p in parts:
        if p is not None:
            # a wrapped sum of the bit patterns: exact and order-free, a function of the row alone
            bits = np.ascontiguousarray(p).reshape(len(p), -1).view(np.uint32 if p.dtype.itemsize == 4 else np.uint64)
            part_keys = bits.sum(axis=1, dtype=bits.dtype)
            part_keys = (part_keys ^ (part_keys >> np.uint64(32))).astype(np.uint32) if bits.dtype == np.uint64 \
                else part_keys
            keys = part_keys if keys is None else keys * _MIX + part_keys
    assert keys is not None, "a chunk has at least one row array"
    return LanePlan(keys, parts)


class RowSource(Protocol):
    """Rows the runner reads chunk by chunk: a plain array, or scaled rows (:class:`skae.tables._input.ScaledRows`).

    ``read(start, stop)`` gives the stored rows (float32 or float64);
    ``finish(batch, raw, start)`` turns the laid-out float32 ``batch`` of those
    rows into the network's input (scaling in place and checking it), so
    scaling needs no separate pass over the data.
    """

    dtype: np.dtype

    def __len__(self) -> int: ...

    def read(self, start: int, stop: int) -> np.ndarray: ...

    def finish(self, batch: np.ndarray, raw: np.ndarray, start: int) -> np.ndarray: ...


class ArrayRows:
    """A plain array as a :class:`RowSource` (codes, conditions): read as stored, used as laid out.

    A packed table's rows (:class:`~skae.tables._packed.PackedTable`) are read packed
    and become dense once, in the chunk's batch.
    """

    def __init__(self, values: np.ndarray | PackedTable):
        self.values = values
        self.dtype = np.dtype(np.float32) if values.dtype == np.float32 else np.dtype(np.float64)

    def __len__(self) -> int:
        return len(self.values)

    def read(self, start: int, stop: int) -> Any:  # an array, or packed rows that numpy reads as one
        rows = self.values[start:stop]
        return rows if isinstance(rows, PackedTable) else np.asarray(rows)

    def finish(self, batch: np.ndarray, raw: np.ndarray, start: int) -> np.ndarray:
        return batch


def uses_lanes(device: str, dtype) -> bool:
    """Whether results of ``dtype`` on ``device`` come from the lane plan (bit-identical rows) or plain chunks.

    float32 in, float32 out: the fast path, exact to float32 rounding across
    batchings; other input gets the lane plan and bit-identical rows.
    """
    return torch.device(device).type == "cpu" and np.dtype(dtype) != np.float32


def chunk_rows(device: str, dtype, chunk: int = INFERENCE_CHUNK) -> int:
    """The rows :func:`run_chunks` computes at once for results of ``dtype`` on ``device``.

    Rows passed in pieces of this size get the results one call over them all
    would give: the plain chunks a row's last bits can depend on are the same.
    """
    if uses_lanes(device, dtype):
        return chunk
    # a GPU wants large chunks (a launch per layer per chunk); the CPU's stay in cache
    return max(chunk, GPU_CHUNK if torch.device(device).type == "cuda" else 4 * INFERENCE_CHUNK)


def run_chunks(module: nn.Module, fn: Callable, *sources: RowSource | np.ndarray | PackedTable | None, device: str,
               dtype=None, chunk: int = INFERENCE_CHUNK, exact: Callable[[], nn.Module] | None = None,
               row_values: int | None = None):
    """Run ``fn(module, *tensor_chunks)`` over row chunks of ``sources`` and return numpy arrays.

    ``sources`` are :class:`RowSource` objects or numpy arrays (``None`` stays ``None``,
    e.g. no condition).  Results are float32 for float32 input and float64
    otherwise (``dtype`` overrides); ``fn`` may return one tensor or a tuple.
    ``exact()`` gives a float64 copy of the module: rows whose float32 result
    is not finite (values near float32's limit overflow inside the network)
    are computed again with it, alone, so no other row's result changes.

    ``row_values``: on the lane plan, take fewer rows at a time when rows (of
    the sources or the results) are wide, so each chunk's arrays hold about
    ``row_values`` values; for an ``fn`` whose rows are computed each on its
    own (an autoencoder's: the bits do not change), not for one that mixes the
    rows of a chunk.
    """
    rows = [ArrayRows(a) if isinstance(a, (np.ndarray, PackedTable)) else a for a in sources]
    first = next(a for a in rows if a is not None)
    dtype = np.dtype(dtype or first.dtype)
    kind = torch.device(device).type
    lanes = uses_lanes(device, dtype)
    chunk = chunk_rows(device, dtype, chunk)
    was_training = module.training
    module.eval()
    n = len(first)
    values_per_chunk = row_values if lanes and n > 0 else None
    widest = max(_width(a.read(0, 1)) for a in rows if a is not None) if values_per_chunk else 0
    results = None
    try:
        with torch.inference_mode(), cpu_threads():
            start = 0
            while start < n:
                if values_per_chunk:
                    chunk = min(chunk, max(MIN_LANE_ROWS, values_per_chunk // max(widest, 1)))
                stop = min(start + chunk, n)
                raws = [None if a is None else a.read(start, stop) for a in rows]
                plan = lane_plan(raws) if lanes else None
                tensors: list[torch.Tensor | None] = []
                for a, raw in zip(rows, raws):
                    if a is None or raw is None:
                        tensors.append(None)
                        continue
                    batch = plan.pad(raw) if plan is not None else np.array(raw, dtype=np.float32)
                    tensor = torch.from_numpy(a.finish(batch, raw, start))
                    if kind == "cuda":  # a page-locked copy lets the transfer overlap the host's next work
                        tensor = tensor.pin_memory().to(device, non_blocking=True)
                    tensors.append(tensor.to(device))
                out = fn(module, *tensors)
                out = out if isinstance(out, tuple) else (out,)
                if results is None:
                    # written in place: collecting chunk outputs and concatenating them doubled the
                    # peak memory and fragmented the heap (RSS grew with n on large inputs)
                    results = tuple(np.empty((n, *o.shape[1:]), dtype=dtype) for o in out)
                arrays = [o.cpu().numpy() for o in out]
                if exact is not None and dtype == np.float64:
                    arrays = _recomputed(arrays, fn, exact, tensors)
                for res, o in zip(results, arrays):
                    res[start:stop] = plan.unpad(o) if plan is not None else o
                widest = max(widest, *(_width(o) for o in arrays))  # wide results (decoded slots) too
                start = stop
    finally:
        module.train(was_training)
    if results is None:
        return np.empty((0,), dtype=dtype)
    return results if len(results) > 1 else results[0]


def _width(rows) -> int:
    """Values per row of an array (or packed rows)."""
    return int(np.prod(rows.shape[1:], dtype=np.int64))


def _recomputed(arrays: list[np.ndarray], fn: Callable, exact: Callable[[], nn.Module],
                tensors: list[torch.Tensor | None]) -> list[np.ndarray]:
    """``arrays`` with the rows whose results are not finite computed again in float64 (their inputs are finite)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if all(np.isfinite(a.sum()) for a in arrays):  # the common case, in one reduction per array
            return arrays
        bad = np.zeros(len(arrays[0]), dtype=bool)
        for a in arrays:
            bad |= ~np.isfinite(a.reshape(len(a), -1).sum(axis=1)) & ~np.isnan(a.reshape(len(a), -1)).any(axis=1)
    if not bad.any():
        return arrays
    rows = torch.as_tensor(np.flatnonzero(bad))
    again = fn(exact(), *[None if t is None else t[rows.to(t.device)].double() for t in tensors])
    again = again if isinstance(again, tuple) else (again,)
    fixed = []
    for a, b in zip(arrays, again):
        a = a.astype(np.float64)
        a[bad] = b.cpu().numpy()
        fixed.append(a)
    return fixed
