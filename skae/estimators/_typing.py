"""Type aliases of the public API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ArrayLike", "Condition", "Output", "RandomState"]

#: what ``X`` may be: an array, a ``numpy.memmap``, image arrays, a DataFrame (mixed types included)
ArrayLike = np.ndarray | pd.DataFrame | Any
#: a conditional model's ``y``: labels, values, a DataFrame of conditions; ignored elsewhere
Condition = np.ndarray | pd.Series | pd.DataFrame | Any | None
#: rows in input space: an array, a DataFrame for a mixed-type table, images for image input
Output = np.ndarray | pd.DataFrame
#: an int seed, a ``numpy.random.RandomState`` or None
RandomState = int | np.random.RandomState | None
