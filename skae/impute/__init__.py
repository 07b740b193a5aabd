"""Imputation: :class:`AutoEncoderImputer`.

Owns the imputer estimator, its self-check (observed entries hidden at fit tell,
per column, whether the model beats a simple fill) and its tables (placeholders
found per dtype, holes filled back into each column's dtype).  Imports
:mod:`skae.estimators` (its default model is an :class:`~skae.AutoEncoder`) and
the layers below it; never :mod:`skae.detection` or :mod:`skae.tools`.
"""

from ._imputer import AutoEncoderImputer, default_epochs

__all__ = ["AutoEncoderImputer", "default_epochs"]
