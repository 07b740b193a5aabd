"""Exceptions and warnings raised by skae."""

from __future__ import annotations

__all__ = ["ModelFileError", "PluginError", "PluginWarning", "TrainingDivergedError"]


class PluginError(RuntimeError):
    """A plugin failed while registering, or two plugins claim the same name."""


class PluginWarning(UserWarning):
    """A third-party plugin could not be loaded and was skipped."""


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


class ModelFileError(ValueError):
    """A weights-only model file is missing, truncated, modified or not a skae file."""
