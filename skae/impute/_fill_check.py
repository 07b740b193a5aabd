"""The imputer's self-check: observed entries hidden at fit tell, per column, whether the model beats a simple fill.

:class:`skae.AutoEncoderImputer` gives each model a fold of the observed
entries to do without: model k trains with its fold hidden as well as the
real holes, then fills those entries from the rest of their rows.  The same
entries are filled the simple way (a number's mean, a category's
or a boolean's most frequent value, each from the entries the model
trained on), and a column the model fills worse than that is filled the
simple way (:class:`FillCheck`).  The check costs no extra training.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..tables._layout import DATETIME, NUMERIC, column_kind
from ..tables._values import as_numbers
from ._frames import _hidden, _missing, _rows

__all__ = ["MIN_CHECKED", "POOL", "SHARE", "FillCheck", "check_fills", "fit_checked", "fold_rng", "hiding_folds"]

#: the largest share of the observed entries each model trains without (its fold); with many models, 1 / models
SHARE = 0.1
#: the hidden entries aimed at per column, over all folds: a larger table hides a smaller share
TARGET = 400
#: how much more the models must err than the simple fill, relatively, for the simple fill: each entry measures
#: one model, and the models' average errs less (3 to 10 % on ALOI, benchmarks/results_impute.md's setting)
MARGIN = 0.1
#: how many standard errors the models' mean loss must exceed the simple fill's by for the simple fill
Z = 2.0
#: a column is filled the simple way only when at least this many hidden entries measured the model on it
MIN_CHECKED = 10
#: the observed values kept per simply filled column, drawn from with ``sample_posterior=True``
POOL = 1000
#: fill_check_'s columns
COLUMNS = ["model_error", "simple_error", "n_checked", "simple", "fill"]


def _kinds(part) -> list[str]:
    if isinstance(part, pd.DataFrame):
        return [column_kind(part.iloc[:, j]) or DATETIME for j in range(part.shape[1])]
    return [NUMERIC] * part.shape[1]


def _values(part, j: int, kind: str) -> np.ndarray:
    """Column ``j`` as floats (NaN missing) for a number, as objects otherwise."""
    if not isinstance(part, pd.DataFrame):
        return np.asarray(part[:, j], dtype=np.float64)
    column = part.iloc[:, j]
    return as_numbers(column, str(column.name)) if kind == NUMERIC else column.to_numpy(dtype=object)


def fold_rng(random_state, models: list) -> np.random.Generator:
    """The folds' generator, from ``random_state`` (the model's when None, so a fit repeats when its models do).

    A stream of its own: the models' seeds are drawn from ``random_state``'s.
    """
    state = random_state if random_state is not None else models[0].get_params().get("random_state")
    return np.random.default_rng([int(check_random_state(state).randint(np.iinfo(np.int32).max)), 1])


def fit_checked(models: list, rows, rng: np.random.Generator, names: list[str],
                owner: str | None) -> tuple[list, FillCheck | None]:
    """The models fitted, each without its fold of ``rows``' observed entries, and what they did there.

    Model k predicts its fold from the rest of those rows once fitted, so the
    check needs no training beyond the models' own; a UserWarning from
    ``owner`` names the columns it fills the simple way.  Without an
    ``owner`` there is no check: every model is fitted on ``rows`` whole.
    """
    if owner is None:
        return [model.fit(rows) for model in models], None
    missing = _missing(rows)
    folds = hiding_folds(rows, missing, len(models), rng)
    predictions = []
    for k, model in enumerate(models):
        train = _hidden(rows, folds == k)
        model.fit(train)
        checked = np.asarray((folds == k).any(axis=1), dtype=bool)
        predictions.append(model.reconstruct(_rows(train, checked)) if checked.any() else None)
    check = check_fills(rows, missing, folds, predictions, names, rng)
    check.warn(owner)
    return models, check


def hiding_folds(part, missing: np.ndarray, n_models: int, rng: np.random.Generator) -> np.ndarray:
    """Which model trains without each entry: an int array shaped like ``part``, -1 where none does.

    Each observed entry goes to one of ``n_models`` folds of a share
    ``SHARE`` each (less on a table of more than ``TARGET / SHARE`` rows:
    about ``TARGET`` entries per column in all), or to none.  Some entries are never hidden, so that every
    model sees what the others see of a column: its smallest and largest
    number, every category and boolean value, and a datetime column whole
    (its fill is not checked).  A fold never hides every observed entry of a
    row: that row keeps them.
    """
    share = min(SHARE, 1.0 / n_models, TARGET / max(n_models * len(missing), 1))
    u = rng.random(missing.shape)
    folds = np.where(u < share * n_models, np.minimum((u / share).astype(np.intp), n_models - 1), -1)
    folds[missing] = -1
    for j, kind in enumerate(_kinds(part)):
        observed = np.flatnonzero(~missing[:, j])
        if kind == DATETIME or not len(observed):
            folds[:, j] = -1
            continue
        values = _values(part, j, kind)[observed]
        if kind == NUMERIC:
            kept = [observed[np.argmin(values)], observed[np.argmax(values)]]
        else:
            kept = observed[~pd.Series(values).duplicated().to_numpy()]
        folds[kept, j] = -1
    for k in range(n_models):
        emptied = ~((~missing) & (folds != k)).any(axis=1)
        folds[emptied[:, None] & (folds == k)] = -1
    return folds


def check_fills(part, missing: np.ndarray, folds: np.ndarray, predictions: list, names: list[str],
                rng: np.random.Generator) -> FillCheck:
    """Each column's errors on the hidden entries, the model's and the simple fill's, and the fill chosen.

    ``predictions[k]`` holds model k's values for the rows where its fold hid
    something (a DataFrame or an array, one column per column of ``part``).
    A number's error is the RMSE in the column's standard deviation, a
    category's or a boolean's the share of wrong fills.  The simple fill of a
    number is its mean (rounded in an integer column): the constant of
    least squared error, where a median picked for erring less on the
    hidden entries would flatter the simple fill by the choice.  A column is filled the simple
    way when, on at least ``MIN_CHECKED`` hidden entries, the model's error
    exceeds the simple fill's by more than ``MARGIN`` (10 %) and its mean
    loss (squared error, or wrong fills) exceeds the simple fill's by more
    than ``Z`` (2) standard errors of their paired differences.
    """
    rows, fills = [], {}
    for j, kind in enumerate(_kinds(part)):
        values = _values(part, j, kind)
        observed = ~missing[:, j]
        truth: list[np.ndarray] = []
        model: list[np.ndarray] = []
        simple: dict[str, list[np.ndarray]] = {}
        for k, guesses in enumerate(predictions):
            hidden = folds[:, j] == k
            if guesses is None or not hidden.any():
                continue
            at = hidden[(folds == k).any(axis=1)]  # the predicted rows are those where fold k hid something
            guessed = guesses.iloc[:, j].to_numpy() if isinstance(guesses, pd.DataFrame) else guesses[:, j]
            truth.append(values[hidden])
            model.append(_as_kind(guessed[at], kind))
            for statistic, value in _statistics(part, j, kind, values[observed & ~hidden]).items():
                simple.setdefault(statistic, []).append(np.repeat(np.asarray([value], dtype=object), hidden.sum()))
        n = int(sum(len(t) for t in truth))
        if not n:
            rows.append([np.nan, np.nan, 0, "", "model"])
            continue
        spread = float(np.std(values[observed])) if kind == NUMERIC else 1.0
        errors = {s: _error(np.concatenate(truth), np.concatenate(v), kind, spread) for s, v in simple.items()}
        statistic = min(errors, key=lambda s: errors[s])
        truth_, model_ = np.concatenate(truth), np.concatenate(model)
        model_error = _error(truth_, model_, kind, spread)
        excess = _losses(truth_, model_, kind) - _losses(truth_, np.concatenate(simple[statistic]), kind)
        # the simple fill only where the models clearly lose: a few extreme entries make one column's RMSE
        # noisy, and the models' average errs less than the one model that each entry measured
        worse = n >= MIN_CHECKED and model_error > (1 + MARGIN) * errors[statistic] and \
            excess.mean() > Z * excess.std(ddof=1) / np.sqrt(n)
        use = "simple" if worse else "model"
        rows.append([model_error, errors[statistic], n, statistic, use])
        if use == "simple":
            seen = values[observed]
            pool = seen if len(seen) <= POOL else rng.choice(seen, POOL, replace=False)
            fills[j] = (_statistics(part, j, kind, seen)[statistic], *_counted(pool))
    table = pd.DataFrame(rows, index=pd.Index(names, name="column"), columns=COLUMNS)
    return FillCheck(table.astype({"n_checked": np.int64}), fills)


def _statistics(part, j: int, kind: str, seen: np.ndarray) -> dict[str, Any]:
    """The simple fill of a column from the values ``seen``: the mean, or the most frequent value."""
    if kind != NUMERIC:
        return {"most frequent": pd.Series(seen).mode().iloc[0]}
    out = {"mean": float(np.mean(seen))}
    if isinstance(part, pd.DataFrame) and pd.api.types.is_integer_dtype(part.iloc[:, j].dtype):
        out = {s: float(np.round(v)) for s, v in out.items()}
    return out


def _as_kind(guessed: np.ndarray, kind: str) -> np.ndarray:
    return np.asarray(guessed, dtype=np.float64) if kind == NUMERIC else np.asarray(guessed, dtype=object)


def _losses(truth: np.ndarray, fill: np.ndarray, kind: str) -> np.ndarray:
    """Each entry's loss: squared error for a number, 1 for a wrong category or boolean."""
    if kind == NUMERIC:
        return (np.asarray(fill, dtype=np.float64) - truth) ** 2
    return np.asarray(truth != fill, dtype=np.float64)


def _error(truth: np.ndarray, fill: np.ndarray, kind: str, spread: float) -> float:
    if kind == NUMERIC:
        rmse = float(np.sqrt(np.mean((np.asarray(fill, dtype=np.float64) - truth) ** 2)))
        return rmse / spread if spread > 0 else rmse
    return float(np.mean(truth != fill))


def _counted(pool: np.ndarray) -> tuple[list, list[int]]:
    counts = pd.Series(pool).value_counts(sort=False, dropna=True)
    return [_plain(v) for v in counts.index], [int(c) for c in counts.to_numpy()]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


class FillCheck:
    """What the self-check measured (``table``, :attr:`AutoEncoderImputer.fill_check_`) and the simple fills.

    ``fills`` maps the position of each column filled the simple way to its
    value and the observed values drawn from with ``sample_posterior=True``
    (at most ``POOL``, with their counts).
    """

    def __init__(self, table: pd.DataFrame, fills: dict[int, tuple[Any, list, list[int]]]):
        self.table, self.fills = table, fills

    def frame(self) -> pd.DataFrame:
        """The measured errors and the fill used, one row per modelled column (a copy)."""
        return self.table.copy()

    def warn(self, owner: str) -> None:
        """A UserWarning naming the columns filled the simple way, if any."""
        simple = [str(c) for c in self.table.index[self.table["fill"] == "simple"]]
        if simple:
            warnings.warn(
                f"{owner}: its models fill the columns {simple} worse than their mean or most frequent "
                "value do on observed entries hidden at fit, so those columns are filled that simple way (see "
                "fill_check_; check_fills=False turns the check off).", UserWarning, stacklevel=5)

    def apply(self, guesses, rng: np.random.RandomState | None):
        """``guesses`` (the models' values, a DataFrame or an array) with the simply filled columns replaced."""
        if not self.fills:
            return guesses
        guesses = guesses.copy()
        for j, (value, pool, counts) in self.fills.items():
            n = len(guesses)
            if rng is None:
                column = [value] * n
            else:
                weights = np.asarray(counts, dtype=np.float64)
                column = [pool[i] for i in rng.choice(len(pool), size=n, p=weights / weights.sum())]
            if isinstance(guesses, pd.DataFrame):
                guesses.isetitem(j, pd.Series(column, index=guesses.index))
            else:
                guesses[:, j] = np.asarray(column, dtype=np.float64)
        return guesses

    def to_state(self) -> dict[str, Any]:
        """The check as JSON values."""
        table = self.table
        return {"columns": [str(c) for c in table.index], **{c: table[c].tolist() for c in COLUMNS},
                "fills": [[int(j), _plain(v), list(pool), list(counts)] for j, (v, pool, counts) in self.fills.items()]}

    @classmethod
    def from_state(cls, state: dict[str, Any], names: list[str]) -> FillCheck:
        """The check :meth:`to_state` wrote, checked against the imputer's modelled columns ``names``."""
        n_columns = len(names)
        if list(state["columns"]) != list(names) or any(len(state[c]) != n_columns for c in COLUMNS):
            raise ValueError("the imputer's fill check does not match its columns.")
        table = pd.DataFrame({c: state[c] for c in COLUMNS}, index=pd.Index(state["columns"], name="column"))
        fills = {}
        for j, value, pool, counts in state["fills"]:
            if not 0 <= int(j) < n_columns or len(pool) != len(counts) or not len(pool):
                raise ValueError("the imputer's simple fills are out of range.")
            # a fill goes into the imputer's output as it is: a plain, finite value, never a structure
            if not all(_fill_value(v) for v in [value, *pool]) \
                    or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in counts):
                raise ValueError("the imputer's simple fills are not plain values with positive counts.")
            fills[int(j)] = (value, list(pool), [int(c) for c in counts])
        return cls(table.astype({"model_error": np.float64, "simple_error": np.float64, "n_checked": np.int64}),
                     fills)


def _fill_value(value) -> bool:
    """A value a model file may hold as a simple fill: text, a boolean, or a finite number."""
    if isinstance(value, (str, bool)):
        return True
    return isinstance(value, (int, float)) and math.isfinite(value)
