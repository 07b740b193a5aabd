"""Running a trained module over rows: chunked, in inference mode, results written in place."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["INFERENCE_CHUNK", "InferenceRunner"]

INFERENCE_CHUNK = 16384


class InferenceRunner:
    """Applies ``fn(module, *tensor_chunks)`` to row chunks of numpy-like sources.

    float32 input runs the trained float32 module.  Other input runs a float64
    copy of it (cached until the weights change), so a row's result does not
    depend on which rows share its chunk.
    """

    def __init__(self):
        self._float64: nn.Module | None = None

    def reset(self) -> None:
        """Forget cached copies: the weights changed."""
        self._float64 = None

    def module_for(self, module: nn.Module, dtype: np.dtype) -> nn.Module:
        if dtype == np.float32:
            return module
        if self._float64 is None:
            self._float64 = copy.deepcopy(module).double().eval()
        return self._float64

    def apply(self, module: nn.Module, fn: Callable, *sources, device: str, dtype=None,
              chunk: int = INFERENCE_CHUNK):
        """Run ``fn`` over chunks of ``sources`` (sliceable, ``None`` allowed) and return numpy arrays."""
        first = next(a for a in sources if a is not None)
        dtype = np.dtype(dtype or (np.float32 if first.dtype == np.float32 else np.float64))
        module = self.module_for(module, dtype)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        was_training = module.training
        module.eval()
        n = len(first)
        results = None
        try:
            with torch.inference_mode():
                for start in range(0, n, chunk):
                    parts = [
                        None if a is None else torch.as_tensor(np.asarray(a[start:start + chunk]), device=device).to(tdtype)
                        for a in sources
                    ]
                    out = fn(module, *parts)
                    out = out if isinstance(out, tuple) else (out,)
                    if results is None:
                        # written in place: collecting chunk outputs and concatenating them doubled the
                        # peak memory and fragmented the heap (RSS grew with n on large inputs)
                        results = tuple(np.empty((n, *o.shape[1:]), dtype=dtype) for o in out)
                    for res, o in zip(results, out):
                        res[start:start + len(o)] = o.cpu().numpy()
        finally:
            module.train(was_training)
        if results is None:
            return np.empty((0,), dtype=dtype)
        return results if len(results) > 1 else results[0]

    def __getstate__(self):
        # a cache, and CUDA tensors in it would not unpickle on a CPU-only machine
        return {"_float64": None}
