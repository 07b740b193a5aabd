"""Input corruptions for denoising autoencoders (Vincent et al., ICML 2008), registered through the hook.

Contract: a factory builds the corruption from the estimator's
``corruption__*`` parameters; ``check(spec)`` raises ``ValueError`` for values
it cannot work with; :meth:`Corruption.prepare` sees the scaled extremes of the
training data once at fit; ``corruption(x)`` returns a corrupted copy of a
batch.  Corruptions run only in training: ``transform`` sees clean input.
They act in the model's scaled units; ``zero``, ``low`` and ``high`` are the
images of the raw value 0 and of each feature's training minimum and maximum,
so "set to 0" and "set to min/max" mean what they say in the data's own units.
"""

from __future__ import annotations

import torch

from .hookspecs import hookimpl
from .spec import ModelSpec

__all__ = ["Corruption", "GaussianNoise", "Masking", "MissingEntries", "SaltAndPepper"]


class Corruption:
    """Base class: the corruption rate of each batch is drawn uniformly from ``[p_min, p_max]``."""

    #: the corruption hides entries as missing (NaN): the model is built to take missing entries
    missing = False

    def __init__(self, p_min: float = 0.1, p_max: float | None = None):
        self.p_min = p_min
        self.p_max = p_max

    def check(self, spec: ModelSpec) -> None:
        """Raise ``ValueError`` for parameter values this corruption cannot use."""
        p_max = self.p_min if self.p_max is None else self.p_max
        if not (0 <= self.p_min <= p_max <= 1):
            raise ValueError(f"need 0 <= p_min <= p_max <= 1; got p_min={self.p_min!r}, p_max={self.p_max!r}.")

    def prepare(self, X: torch.Tensor, zero: torch.Tensor) -> None:
        """Record the scaled images of 0 and of each feature's min and max."""
        self.zero_ = zero
        self.low_ = X.min(0).values
        self.high_ = X.max(0).values

    def rate(self, x: torch.Tensor) -> torch.Tensor:
        """The batch's corruption rate, drawn on ``x``'s device (no host sync per batch)."""
        p_max = self.p_min if self.p_max is None else self.p_max
        return self.p_min + (p_max - self.p_min) * torch.rand((), device=x.device, dtype=x.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


class GaussianNoise(Corruption):
    """x + σ ε, ε ~ N(0, I); σ in the model's scaled units.

    Parameters
    ----------
    sigma : float, default=0.1
    """

    def __init__(self, sigma: float = 0.1):
        self.sigma = sigma

    def check(self, spec):
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0; got {self.sigma!r}.")

    def prepare(self, X, zero):
        pass

    def __call__(self, x):
        return x + self.sigma * torch.randn_like(x)


class Masking(Corruption):
    """Set a fraction p of the coordinates to 0 (masking noise; e.g. 10%).

    Parameters
    ----------
    p_min, p_max : float, default=0.1, None
        The fraction is drawn uniformly from [p_min, p_max] per batch
        (``p_max=None`` means ``p_max = p_min``).
    """

    def __call__(self, x):
        mask = torch.rand_like(x) < self.rate(x)
        return torch.where(mask, self.zero_.to(x.dtype), x)


class SaltAndPepper(Corruption):
    """Set a fraction p of the coordinates to their minimum or maximum, 50/50.

    Parameters
    ----------
    p_min, p_max : float, default=0.1, None
        The fraction is drawn uniformly from [p_min, p_max] per batch.
    """

    def __call__(self, x):
        u = torch.rand_like(x)
        p = self.rate(x)
        salt = torch.rand_like(x) < 0.5
        value = torch.where(salt, self.high_.to(x.dtype), self.low_.to(x.dtype))
        return torch.where(u < p, value, x)


class MissingEntries(Corruption):
    """Hide a fraction p of the entries as missing; the model learns to fill them from the others.

    The denoising autoencoder of multiple imputation (MIDAS: Lall & Robinson,
    "The MIDAS touch", Political Analysis 2022): the encoder sees the row with
    extra entries missing, the loss still scores them against their observed
    values.  A table's categorical column is hidden whole.

    Parameters
    ----------
    p_min, p_max : float, default=0.5, None
        The fraction is drawn uniformly from [p_min, p_max] per batch.
    """

    missing = True

    def __init__(self, p_min: float = 0.5, p_max: float | None = None):
        super().__init__(p_min, p_max)

    def check(self, spec):
        super().check(spec)
        self.columns = spec.column_slots
        self._slot_column: torch.Tensor | None = None

    def __call__(self, x):
        rate = self.rate(x)
        if self.columns is None:
            hide = torch.rand_like(x) < rate
        else:
            if self._slot_column is None or self._slot_column.device != x.device:
                index = [j for j, (start, stop) in enumerate(self.columns) for _ in range(start, stop)]
                self._slot_column = torch.as_tensor(index, device=x.device)
            hide = (torch.rand(x.shape[0], len(self.columns), device=x.device, dtype=x.dtype) < rate)[:, self._slot_column]
        return torch.where(hide, torch.full((), float("nan"), dtype=x.dtype, device=x.device), x)


@hookimpl
def skae_register_corruptions(register):
    register("gaussian", GaussianNoise)
    register("masking", Masking)
    register("salt_and_pepper", SaltAndPepper)
    register("missing", MissingEntries)
