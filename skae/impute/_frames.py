"""The imputer's tables: placeholders found per dtype, holes filled into each column's dtype, empty columns kept.

What :class:`skae.AutoEncoderImputer` does to the values around its models:
which entries are missing (a placeholder compared as each column's dtype
holds values), how the models' values go into a DataFrame's columns
(categories added, integers rounded), and what scikit-learn's
``keep_empty_features`` and ``add_indicator`` put beside them.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from ..tables._layout import is_mixed_frame
from ..tables._values import as_numeric


def _with_nan(imputer, X, reset: bool):
    """X validated for ``imputer``, with its ``missing_values`` turned into NaN: a DataFrame, or a float array."""
    if isinstance(X, pd.DataFrame):
        validate_data(imputer, X, reset=reset, skip_check_array=True)
        # a column of a kind skae cannot model (timedelta, period, ...) is refused as the models refuse it, even
        # where it has no hole: else it passes through untouched until a batch with a hole reaches a model
        is_mixed_frame(X)
        if not _is_nan(imputer.missing_values):
            X = _masked_frame(X, imputer.missing_values)
        return X
    X = validate_data(imputer, X, reset=reset, dtype=None, ensure_all_finite=False)
    missing = _missing_mask(X, imputer.missing_values)
    if missing.any():  # before the cast to numbers: a text placeholder ("?") is no number
        X = np.where(missing, np.nan, X)
    X = np.asarray(X, dtype=np.float64 if X.dtype.kind in "biuO" else X.dtype)
    if np.isinf(X).any():
        raise ValueError("Input X contains infinity; replace it by NaN to impute it, or drop those rows.")
    return X


def _missing(X) -> np.ndarray:
    return np.asarray(X.isna().to_numpy() if isinstance(X, pd.DataFrame) else np.isnan(X), dtype=bool)


def _is_nan(value) -> bool:
    return value is None or value is pd.NA or isinstance(value, numbers.Real) and bool(np.isnan(float(value)))


#: what an empty text or category column is filled with under ``keep_empty_features`` (scikit-learn's
#: ``SimpleImputer`` fills strings so when it has no value of its own)
EMPTY_TEXT = "missing_value"


def _masked_frame(X: pd.DataFrame, placeholder) -> pd.DataFrame:
    """X with the entries equal to ``placeholder`` missing, compared per column as its dtype holds values.

    A boolean or datetime column holds no placeholder (False is not the number
    0), a numeric column only a number, a text or category column only an
    entry of the placeholder's kind.  An integer column with holes becomes its
    nullable dtype (int64 -> Int64) so it stays an integer column, and a
    category column loses the placeholder's category, which is not a value to
    impute.
    """
    out = X
    for j in range(X.shape[1]):
        column = X.iloc[:, j]
        found = _placeholder_mask(column, placeholder)
        if not found.any():
            continue
        if out is X:
            out = X.copy()
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            column = column.cat.remove_categories([c for c in dtype.categories if _is_placeholder(c, placeholder)])
        elif isinstance(dtype, np.dtype) and dtype.kind in "iu":
            column = column.astype(f"{'U' if dtype.kind == 'u' else ''}Int{8 * dtype.itemsize}").mask(found)
        else:
            column = column.mask(found)
        out.isetitem(j, column)
    return out


def _placeholder_mask(column: pd.Series, placeholder) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype):
        if isinstance(placeholder, str):
            return np.zeros(len(column), dtype=bool)
        return np.asarray((column == placeholder).fillna(False), dtype=bool)
    return np.fromiter((_is_placeholder(v, placeholder) for v in column.to_numpy(dtype=object)), dtype=bool,
                       count=len(column))


def _is_placeholder(value, placeholder) -> bool:
    """``value`` is the placeholder, and of its kind: text for text, a number (not a bool) for a number."""
    if isinstance(placeholder, str):
        return isinstance(value, str) and value == placeholder
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_)) and bool(
        value == placeholder)


def _hidden(X, hide: np.ndarray):
    """X with the entries at ``hide`` missing, each column keeping its kind (an imputer's self-check hides them).

    An integer column becomes its nullable dtype (int64 -> Int64) and a
    boolean one ``boolean``, as a column with holes is passed; a category
    column keeps its categories.
    """
    if not hide.any():
        return X
    if not isinstance(X, pd.DataFrame):
        return np.where(hide, np.nan, X)
    out = X.copy()
    for j in np.flatnonzero(hide.any(axis=0)):
        column = X.iloc[:, j]
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            column = column.astype(f"{'U' if dtype.kind == 'u' else ''}Int{8 * dtype.itemsize}")
        elif isinstance(dtype, np.dtype) and dtype.kind == "b":
            column = column.astype("boolean")
        out.isetitem(int(j), column.mask(hide[:, j]))
    return out


def _missing_mask(X: np.ndarray, missing_values) -> np.ndarray:
    if _is_nan(missing_values):
        found = pd.isna(X) if X.dtype == object else np.isnan(X) if X.dtype.kind == "f" else np.zeros(X.shape, bool)
    else:
        found = X == missing_values
    return np.asarray(found, dtype=bool)


def _columns(X, keep: np.ndarray):
    return X.loc[:, keep] if isinstance(X, pd.DataFrame) else X[:, keep]


def _rows(X, keep: np.ndarray):
    if keep.all():
        return X
    return X.loc[keep] if isinstance(X, pd.DataFrame) else X[keep]


def _fill(part, guesses, rows: np.ndarray, missing: np.ndarray):
    """``part`` with its missing cells in ``rows`` taken from ``guesses`` (the rows' model values)."""
    if isinstance(part, pd.DataFrame):
        where = np.flatnonzero(rows)
        for j, column in enumerate(part.columns):
            holes = where[missing[where, j]]
            if len(holes):
                column_guesses = guesses.iloc[:, j].to_numpy() if isinstance(guesses, pd.DataFrame) \
                    else np.asarray(guesses)[:, j]
                part[column] = _filled_column(part[column], column_guesses[np.searchsorted(where, holes)], holes)
        return part
    out = np.array(part, copy=True)
    block = out[rows]
    holes = missing[rows]
    block[holes] = np.asarray(guesses, dtype=out.dtype)[holes]
    out[rows] = block
    return out


def _filled_column(series: pd.Series, values: np.ndarray, holes: np.ndarray) -> pd.Series:
    """``series`` with ``values`` at the positions ``holes``, as the column's dtype holds them.

    The dtype may not be the one seen in fit: an integer column gets the values
    rounded (and clipped to its range), a ``category`` column gains the
    categories it lacks.
    """
    series = series.copy()
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        new = pd.unique(pd.Series(values, dtype=object).dropna())
        series = series.cat.add_categories([v for v in new if v not in dtype.categories])
    elif pd.api.types.is_integer_dtype(dtype) and pd.api.types.is_numeric_dtype(np.asarray(values).dtype) \
            and not pd.api.types.is_bool_dtype(np.asarray(values).dtype):
        values = as_numeric(np.asarray(values, dtype=np.float64), str(dtype)).array
    try:
        series.iloc[holes] = values
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Column {series.name!r} has dtype {dtype} here, which cannot hold its imputed values "
            f"({pd.Series(values).dtype}, the kind of column seen in fit): pass it with the dtype it had in fit."
        ) from exc
    return series


def _with_empty(X, filled, empty: np.ndarray):
    """The columns with no observed value at fit put back, filled (scikit-learn's ``keep_empty_features``).

    Numbers with 0, booleans with False, datetimes with 1970-01-01 (skae's 0
    for a datetime), text and categories with ``EMPTY_TEXT``.
    """
    if isinstance(X, pd.DataFrame):
        out = X.copy()
        for column in filled.columns:
            out[column] = filled[column]
        for j in np.flatnonzero(empty):
            out.isetitem(int(j), _empty_filled(X.iloc[:, j]))
        return out
    out = np.zeros((len(X), len(empty)), dtype=np.asarray(filled).dtype)
    out[:, ~empty] = filled
    return out


def _empty_filled(column: pd.Series) -> pd.Series:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column.fillna(False)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return column.fillna(pd.Timestamp(0, tz="UTC").tz_convert(getattr(dtype, "tz", None)))
    if pd.api.types.is_numeric_dtype(dtype):
        return column.fillna(0)
    if isinstance(dtype, pd.CategoricalDtype) and EMPTY_TEXT not in dtype.categories:
        column = column.cat.add_categories([EMPTY_TEXT])
    return column.fillna(EMPTY_TEXT)


def _restored_dtypes(filled: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    """Integer columns that held the placeholder back from their nullable stand-in (Int64 -> int64), now filled."""
    for j, column in enumerate(filled.columns):
        if column not in dtypes.index:
            continue
        dtype = dtypes[column]
        if isinstance(dtype, np.dtype) and dtype.kind in "iu" and filled[column].dtype != dtype \
                and not filled[column].isna().any():
            filled.isetitem(j, filled[column].astype(dtype))
    return filled


def _append_indicator(filled, flags: np.ndarray, names: list[str]):
    if isinstance(filled, pd.DataFrame):
        return pd.concat([filled, pd.DataFrame(flags, columns=names, index=filled.index)], axis=1)
    return np.hstack([filled, flags.astype(filled.dtype)])
