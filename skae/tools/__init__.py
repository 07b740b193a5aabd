"""What works around fitted estimators: model files, the command line, figures, checks for plugin authors.

Owns weights-only model files (``skae.save`` / ``skae.load``), the command line
(``python -m skae``) with its table files, the plotting helpers, and the checks a
plugin author runs on a regularizer or conditioner.  The top layer: may import
every other; nothing in skae imports it but the package's own lazy names and
``python -m skae``.

:mod:`skae.persistence`, :mod:`skae.cli`, :mod:`skae.plotting` and
:mod:`skae.testing` are the public names of the modules here.
"""
