"""Command line: ``python -m skae`` / ``skae``.

Nothing heavy is imported until a command runs, so ``skae --help`` answers at once.
Every user error is one line on stderr and exit code 2; an interrupt (Ctrl-C) is
one line and exit code 130.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys

from ._table_files import OUTPUT_SUFFIXES, CLIError, check_columns, read_table, write_table

__all__ = ["main"]

_MODEL_SUFFIXES = (".skae",)
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


class _Interrupted(Exception):
    """Ctrl-C arrived while a model was training (skorch stops training and returns)."""


def _plugins(args) -> int:
    from .. import plugins

    rows = plugins.describe()
    if args.json:  # the same plural keys as the table below
        plural = {k: k if k in ("plugin", "distribution") else k + "s" for k in rows[0]} if rows else {}
        print(json.dumps([{plural[k]: v for k, v in row.items()} for row in rows], indent=2))
        return 0
    for row in rows:
        print(f"{row['plugin']}  (distribution: {row['distribution']})")
        for kind in plugins.KINDS:
            if row[kind]:
                print(f"    {kind + 's':<14} {', '.join(row[kind])}")
    return 0


def _did_you_mean(name: str, names) -> str:
    import difflib

    hint = difflib.get_close_matches(str(name), [str(n) for n in names], n=1)
    return f" Did you mean {hint[0]!r}?" if hint else ""


def _select(frame, args, path: str, target: str | list | None = None):
    """Split off the ``--target`` column(s) and keep the feature columns (``--columns`` / ``--drop``)."""
    y = None
    target = args.target or target
    if target:
        wanted_targets = [target] if isinstance(target, str) else list(target)
        for t in wanted_targets:
            if t not in frame.columns:
                raise CLIError(f"--target {t!r} is not a column of {path}.{_did_you_mean(t, frame.columns)} "
                               f"It has {list(frame.columns)}.")
        y = frame.pop(wanted_targets[0]) if len(wanted_targets) == 1 else frame[wanted_targets]
        frame = frame.drop(columns=wanted_targets, errors="ignore")
    names = list(frame.columns)
    # the condition is never a feature, so dropping it asks for what already holds
    drop = [c for c in (args.drop or []) if not (target and c in wanted_targets)]
    wanted = args.columns if args.columns else [c for c in names if c not in drop]
    missing = [c for c in [*(args.columns or []), *drop] if c not in names]
    if missing:
        raise CLIError(f"{path} has no column(s) {missing}.{_did_you_mean(missing[0], names)} It has {names}.")
    return frame[wanted], y


def _check_output(path: str, suffixes: tuple[str, ...], what: str) -> None:
    if not path.endswith(suffixes):
        raise CLIError(f"--out {path}: a {what} file must end in {' or '.join(suffixes)}.")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"--out {path} is a directory; give a file name.")
    if not os.path.isdir(directory):
        raise CLIError(f"--out {path}: the directory {directory} does not exist.")
    if not os.access(directory, os.W_OK):
        raise CLIError(f"--out {path}: the directory {directory} is not writable.")


def _parse_value(text: str):
    """``8`` -> 8, ``0.1`` -> 0.1, ``[64,32]`` -> [64, 32], ``true`` -> True, else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _estimator(name: str, items: list[str]):
    import inspect

    from ..estimators._registry import ESTIMATOR_NAMES, estimator_factory

    if name not in ESTIMATOR_NAMES:
        raise CLIError(f"unknown estimator {name!r}.{_did_you_mean(name, ESTIMATOR_NAMES)} Choose from "
                       f"{list(ESTIMATOR_NAMES)}.")
    params = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f"--param takes NAME=VALUE (e.g. latent_dim=8); got {item!r}.")
        key, value = item.split("=", 1)
        params[key.strip()] = _parse_value(value)
    factory = estimator_factory(name)
    inner = {k[len("estimator__"):]: v for k, v in params.items() if k.startswith("estimator__")}
    if inner and "estimator" in inspect.signature(factory).parameters:
        # a wrapper's estimator__NAME parameters configure the AutoEncoder it wraps
        params = {k: v for k, v in params.items() if not k.startswith("estimator__")}
        params["estimator"] = estimator_factory("AutoEncoder")(**inner)
    known = list(factory().get_params(deep=False))  # constructors only store their arguments
    for key in params:
        if "__" not in key and key not in known:
            raise CLIError(f"-p {key}: {name} has no parameter {key!r}.{_did_you_mean(key, known)}")
    return factory(**params)


def _threads(args) -> int:
    """Torch's threads: ``--threads``, else the Python API's automatic rule (:func:`skae.set_threads`)."""
    from ..model._device import automatic_threads, set_threads

    count = args.threads or automatic_threads()
    set_threads(count)
    return count


def _fit(args) -> int:
    pickle_out = args.out.endswith(_PICKLE_SUFFIXES)
    _check_output(args.out, _MODEL_SUFFIXES + _PICKLE_SUFFIXES, "model")
    estimator = _estimator(args.estimator, args.param)
    frame, y = _select(read_table(args.data), args, args.data)
    check_columns(frame, args.data)
    threads = _threads(args)
    params = estimator.get_params(deep=False)
    device = params.get("device", "cpu")
    progress = "verbose" in params and params["verbose"] == 0 and not args.quiet
    if progress:
        estimator.set_params(verbose=1)  # a line per epoch: a fit can take minutes
    print(f"skae: fitting {args.estimator} on {frame.shape[0]} rows x {frame.shape[1]} columns "
          f"({device}, {threads} thread{'s' if threads > 1 else ''}){'' if y is None else f', condition {y.name!r}'}",
          file=sys.stderr)
    interrupted = []

    def on_interrupt(signum, frame_):
        interrupted.append(True)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: no handler, Ctrl-C is not ours to see
        previous = None
    try:
        with _redirect_progress():
            estimator.fit(frame, y)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if progress:  # the model keeps the parameters the user gave
        estimator.set_params(verbose=0)
        estimator.model_.params["verbose"] = 0
    history = getattr(estimator, "history_", None)  # a detector's members train in steps, not epochs
    epochs = len(history) if history is not None else 0
    if interrupted and not args.save_on_interrupt:
        raise _Interrupted(f"training stopped after {epochs} epoch(s); nothing was written "
                           "(--save-on-interrupt keeps the last finished epoch's model).")
    if pickle_out:
        import joblib

        joblib.dump(estimator, args.out)
    else:
        from . import persistence

        persistence.save(estimator, args.out)
    summary = f"fitted {args.estimator} on {frame.shape[0]} rows x {frame.shape[1]} columns"
    if epochs:
        summary += f", {epochs} epoch{'s' if epochs > 1 else ''}"
    elif hasattr(estimator, "estimators_features_"):
        members = len(estimator.estimators_features_)
        summary += f", {members} member{'s' if members > 1 else ''}"
    quality = _training_fit(estimator, frame, y)
    print(f"{summary}{'; ' + quality if quality else ''}; saved to {args.out}", file=sys.stderr)
    if interrupted:
        raise _Interrupted(f"interrupted; saved the model of epoch {epochs} to {args.out}.")
    return 0


def _training_fit(estimator, frame, y) -> str:
    """How well the model reconstructs its training table, beside what predicting without a model gives.

    The training loss is in the model's internal units (scaled columns, the
    likelihood's terms) that a user cannot judge; these are: for numeric
    columns the mean squared error in units of each column's variance (1 is
    what predicting the column's mean gives), for categorical and boolean ones
    the share of entries reconstructed right beside always answering the most
    frequent category.  Observed entries only.  Empty for models without
    ``reconstruct`` (the detector).
    """
    import numpy as np
    import pandas as pd

    from ..tables._layout import column_kind

    if not callable(getattr(estimator, "reconstruct", None)):
        return ""
    out = estimator.reconstruct(frame) if y is None else estimator.reconstruct(frame, y)
    out = pd.DataFrame(np.asarray(out), columns=frame.columns) if not isinstance(out, pd.DataFrame) else out
    errors, hits, baselines = [], [], []
    for column in frame.columns:
        seen = frame[column].notna().to_numpy()
        if not seen.any():
            continue
        truth, guess = frame[column].to_numpy()[seen], out[column].to_numpy()[seen]
        kind = column_kind(frame[column])
        if kind == "numeric":
            truth = truth.astype(np.float64)
            variance = truth.var()
            if variance > 0:  # a constant column has no spread to measure against
                errors.append(np.mean((truth - guess.astype(np.float64)) ** 2) / variance)
        elif kind in ("categorical", "boolean"):
            hits.append(np.mean(truth.astype(object) == guess.astype(object)))
            baselines.append(frame[column][seen].value_counts(normalize=True).iloc[0])
    parts = []
    if errors:
        parts.append(f"numeric error {np.mean(errors):.3g} (mean squared error / column variance; 1 = predicting "
                     "the mean)")
    if hits:
        parts.append(f"categories {100 * np.mean(hits):.1f}% right (always the most frequent: "
                     f"{100 * np.mean(baselines):.1f}%)")
    return "on the training rows: " + ", ".join(parts) if parts else ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _PlainStream:
    """A text stream whose ANSI colour codes are dropped (skorch's epoch table colours its cells)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(_ANSI.sub("", text))

    def flush(self) -> None:
        self.stream.flush()


def _redirect_progress():
    """Epoch lines go to stderr (stdout may carry a table); plain text unless stderr is a terminal."""
    import contextlib

    stream = sys.stderr if sys.stderr.isatty() else _PlainStream(sys.stderr)
    return contextlib.redirect_stdout(stream)


def _load_model(path: str, allow_pickle: bool):
    from . import persistence

    if not path.endswith(_PICKLE_SUFFIXES):
        return persistence.load(path)
    if not allow_pickle:
        raise CLIError(
            f"{path} is a pickle: loading it runs whatever code it holds. Pass --allow-pickle if you trust "
            "its source, or save models as .skae (weights only)."
        )
    if not os.path.exists(path):
        raise CLIError(f"No model file at {path!r}.")
    if _is_weights_file(path):  # a .skae file renamed: unpickling it fails deep inside torch's format
        raise CLIError(f"{path} is a skae weights file (written by skae.save or 'skae fit --out *.skae'), not a "
                       "pickle: rename it to end in .skae and load it without --allow-pickle.")
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling runs the file's code: it can raise anything
        raise CLIError(f"{path} is not a readable pickle (truncated, corrupted, or written by something other "
                       f"than joblib.dump / pickle.dump): {type(exc).__name__}: {exc}") from exc


def _is_weights_file(path: str) -> bool:
    """Whether ``path`` holds a skae weights file (a torch zip archive); no code from the file is run."""
    import zipfile

    if not zipfile.is_zipfile(path):  # pickles, compressed or not, are no zip archives
        return False
    import torch

    from . import persistence

    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # another zip archive: left to joblib, which names what it is not
        return False
    return isinstance(record, dict) and record.get("format") == persistence.FORMAT


_METHODS = ("transform", "reconstruct", "score_samples", "predict")


def _transform(args) -> int:
    import numpy as np
    import pandas as pd

    if args.out and args.out != "-" and not args.out.endswith(OUTPUT_SUFFIXES):
        raise CLIError(f"--out {args.out}: write {', '.join(OUTPUT_SUFFIXES)} (or leave --out out for CSV on stdout).")

    estimator = _load_model(args.model, args.allow_pickle)
    _threads(args)
    name = type(estimator).__name__
    holds = f"{args.model} holds {'an' if name[0] in 'AEIOU' else 'a'} {name}"
    if not callable(getattr(estimator, args.method, None)):
        has = [m for m in _METHODS if callable(getattr(estimator, m, None))]
        hint = " (predict needs a detector model: AutoEncoderOutlierDetector)" if args.method == "predict" else ""
        choose = f"use --method {' or '.join(has)}" if has else "give a model file written by 'skae fit'"
        raise CLIError(f"{holds}, which has no {args.method} method{hint}; {choose}.")
    # a conditional model reads its condition from the column(s) it was fitted with
    stored = getattr(estimator, "condition_columns_", None) if hasattr(estimator, "condition_encoder_") else None
    frame, y = _select(read_table(args.data), args, args.data, target=stored)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and not args.columns:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise CLIError(f"{args.data} lacks the model's column(s) {missing}; it has {list(frame.columns)}.")
        fitted = set(names)
        extra = [c for c in frame.columns if c not in fitted]
        if extra:
            print(f"skae: ignoring column(s) {extra} of {args.data}: the model was not fitted on them "
                  "(leave them out with --drop to silence this).", file=sys.stderr)
        frame = frame[list(names)]
    kwargs = {} if y is None else {"y": y}
    if args.method == "transform":
        out = estimator.transform(frame, **kwargs)
        columns = list(estimator.get_feature_names_out())
    elif args.method == "reconstruct":
        out = estimator.reconstruct(frame, **kwargs)
        columns = list(frame.columns)
    elif args.method == "score_samples":
        out = np.asarray(estimator.score_samples(frame, **kwargs))[:, None]
        columns = ["score"]
    else:
        out = np.asarray(estimator.predict(frame))[:, None]
        columns = ["prediction"]
    write_table(pd.DataFrame(out, columns=columns), args.out)
    return 0


def _add_columns(p) -> None:
    p.add_argument("--columns", nargs="+", metavar="COL", help="use only these columns as features")
    p.add_argument("--drop", nargs="+", metavar="COL", help="leave these columns out (an id, a label)")
    p.add_argument("--target", metavar="COL", help="column holding the condition y (ConditionalVAE); never a feature")


def _add_threads(p) -> None:
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch threads (default: OMP_NUM_THREADS, else half the cores, at most 4: more threads "
                        "than free cores make a fit many times slower on a busy machine)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skae", description="scikit-learn compatible autoencoders.",
        epilog="Example: skae fit data.csv --drop id --param latent_dim=8 --out model.skae && "
               "skae transform model.skae data.csv --out latent.csv",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins and what each registers")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_plugins)

    p = sub.add_parser(
        "fit", help="fit an estimator on a CSV/Parquet table and save it",
        description="Fit a skae estimator on the columns of a table and save the model. Every column is a "
                    "feature unless --columns, --drop or --target say otherwise: leave out ids and labels.",
    )
    p.add_argument("data", help="training table: .csv, .tsv, .parquet, or '-' for CSV on stdin")
    p.add_argument("--estimator", default="AutoEncoder",
                   help="AutoEncoder (default), VAE, BetaVAE, ConditionalVAE or AutoEncoderOutlierDetector")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                   help="estimator parameter, repeatable; values are JSON (8, 0.1, [64,32], true) or strings "
                        "(e.g. -p latent_dim=8 -p regularizers='[\"l1_activity\"]'); for the detector, "
                        "estimator__NAME=VALUE sets its AutoEncoder")
    _add_columns(p)
    p.add_argument("--out", "-o", required=True,
                   help="model file: .skae (weights only, safe to load) or .joblib/.pkl (a pickle); checked "
                        "before training starts")
    p.add_argument("--save-on-interrupt", action="store_true",
                   help="on Ctrl-C, save the model of the last finished epoch (default: write nothing)")
    p.add_argument("--quiet", "-q", action="store_true", help="no line per epoch (the start and end lines stay)")
    _add_threads(p)
    p.set_defaults(func=_fit)

    p = sub.add_parser(
        "transform", help="apply a saved model to a table and write the result",
        description="Encode (or reconstruct, score, predict) the rows of a table with a saved model. The output "
                    "is CSV with a header line: latent0..latentK-1, the input's columns, 'score' or 'prediction'.",
    )
    p.add_argument("model", help="a model file written by 'skae fit' (.skae; a .joblib/.pkl needs --allow-pickle)")
    p.add_argument("data", help="input table: .csv, .tsv, .parquet, or '-' for CSV on stdin")
    p.add_argument("--method", default="transform", choices=["transform", "reconstruct", "score_samples", "predict"],
                   help="transform (latent codes, default), reconstruct, score_samples (higher = more normal), "
                        "or predict (detectors: +1 inlier, -1 outlier)")
    _add_columns(p)
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow loading a .joblib/.pkl model: unpickling runs code from the file; only for "
                        "files you trust")
    p.add_argument("--out", "-o", help="output .csv, .tsv, .parquet or .json (records) (default: CSV on stdout)")
    _add_threads(p)
    p.set_defaults(func=_transform)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skae`` command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into e.g. `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (_Interrupted, KeyboardInterrupt) as exc:
        print(f"skae {args.command}: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130
    except CLIError as exc:
        print(f"skae {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FloatingPointError, OSError) as exc:
        # estimator validation, model files, divergence: the message says what to change
        print(f"skae {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
