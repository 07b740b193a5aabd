"""Anomaly detection: :class:`AutoEncoderOutlierDetector`.

Owns the detector estimator, its fitted value and the thresholds that turn
scores into flags, its default members (small autoencoders trained together as
one batched network, and the statistics that turn their outputs into scores),
members around a user's estimator (clones trained one by one) and the
column-tails term.  Imports :mod:`skae.estimators` (type aliases, the
estimators by name) and the layers below it; never :mod:`skae.impute` or
:mod:`skae.tools`.
"""

from ._detector import AutoEncoderOutlierDetector

__all__ = ["AutoEncoderOutlierDetector"]
