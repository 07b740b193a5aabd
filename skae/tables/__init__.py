"""Tables and other inputs: from what a user passes to the numbers a model trains on, and back.

Owns the input adapter (which kind of input X is, decided once: arrays, memmaps,
images, DataFrames), the column layout of mixed-type tables
(:class:`ColumnLayout`), a column's values as numbers and back (decimals,
datetimes, categories, :class:`QuantileMap`), packed rows (one integer code per
categorical column), per-feature scaling from streaming statistics, and the
training datasets (in-memory tensors, on-disk arrays streamed block by block).
Imports nothing from the other layers.

:mod:`skae.tabular` is the public name of the column-layout module.
"""

from ._layout import ColumnLayout, QuantileMap

__all__ = ["ColumnLayout", "QuantileMap"]
