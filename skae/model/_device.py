"""Where a model runs, resolved once at fit, the CPU threads it runs on, and the seeded random streams it draws from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["cpu_threads", "resolve_device", "seeded", "set_threads", "to_device"]

#: torch's thread count when skae was imported: a count the user has not changed
_TORCH_DEFAULT = torch.get_num_threads()
_threads: int | None = None  # set_threads(n); None: the automatic rule


def set_threads(n: int | None = None) -> None:
    """How many CPU threads skae's torch work uses.

    Parameters
    ----------
    n : int or None, default=None
        A thread count for every fit and inference that follows.  None: the
        automatic rule, which the command line's ``--threads`` default follows
        too: ``OMP_NUM_THREADS`` when set, a count the program gave
        ``torch.set_num_threads`` itself, else half the cores and at most 4.
        On a machine shared with other work, torch's own default (every
        core) can make a fit many times slower than one thread: each thread
        waits for the slowest at every layer.

    Notes
    -----
    skae sets the count only while it works and gives torch back the
    previous one afterwards, so other torch code in the process is unaffected.
    """
    global _threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_threads takes a positive int or None; got {n!r}.")
    _threads = n


def automatic_threads() -> int:
    """The automatic rule of :func:`set_threads`."""
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    current = torch.get_num_threads()
    if current != _TORCH_DEFAULT:  # the program chose a count itself
        return current
    return max(1, min(4, (os.cpu_count() or 2) // 2))


@contextmanager
def cpu_threads() -> Iterator[None]:
    """Run the block on :func:`set_threads`' count of torch threads, then restore the previous count."""
    previous = torch.get_num_threads()
    wanted = _threads if _threads is not None else automatic_threads()
    if wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_device(device: str) -> str:
    """The torch device for the ``device`` parameter, or a ValueError saying what to pass.

    ``"auto"`` is CUDA when available, else the CPU.  Only devices skae can train
    on are accepted: the CPU, CUDA devices that are present, and MPS where available.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}). "
                "Use device='cpu', or device='auto' to pick CUDA only when present."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible."
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device='mps' was requested but MPS is not available; use 'cpu' or 'auto'.")
    elif dev.type != "cpu":
        raise ValueError(
            f"device={device!r}: skae trains on 'cpu', 'cuda', 'cuda:N' or 'mps' "
            f"(or 'auto'); {dev.type!r} devices are not supported."
        )
    return str(dev)


@contextmanager
def seeded(seed: int, device: str) -> Iterator[None]:
    """Run the block on torch's RNG seeded with ``seed``, leaving the caller's RNG state untouched."""
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        yield


def to_device(array, device: str) -> torch.Tensor | None:
    """A float32 tensor of ``array`` on ``device`` (``None`` stays ``None``)."""
    if array is None:
        return None
    return torch.as_tensor(np.asarray(array, dtype=np.float32), device=device)
