"""Training: from an estimator's parameters to a trained module.

Owns the constructor parameters every estimator shares (defaults, constraints,
routed ``prefix__name`` names), building the plugins, module, objective and
skorch net from them, the net itself, the objectives (one batch's loss, skorch's
``criterion_``) and the training policies as skorch callbacks (rollback after a
divergence or an interrupt, refit on every row).  Imports :mod:`skae.model`,
:mod:`skae.tables`, :mod:`skae.plugins` and :mod:`skae.exceptions`; never the
estimators above it.
"""
