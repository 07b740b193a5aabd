"""Where a model runs, resolved once at fit, and the seeded random streams it draws from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["resolve_device", "seeded", "to_device"]


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
