"""Command line: ``python -m skae`` / ``skae``.

Nothing heavy is imported until a command runs, so ``skae --help`` answers at once.
Every user error is one line on stderr and exit code 2; an interrupt (Ctrl-C) is
one line and exit code 130.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

__all__ = ["main"]

_MODEL_SUFFIXES = (".skae",)
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


class CLIError(Exception):
    """A user error on the command line: printed without a traceback."""


class _Interrupted(Exception):
    """Ctrl-C arrived while a model was training (skorch stops training and returns)."""


def _plugins(args) -> int:
    from . import plugins

    rows = plugins.describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['plugin']}  (distribution: {row['distribution']})")
        for kind in plugins.KINDS:
            if row[kind]:
                print(f"    {kind + 's':<14} {', '.join(row[kind])}")
    return 0


def _read_table(path: str):
    import pandas as pd

    if path == "-":
        return pd.read_csv(sys.stdin)
    if not path.endswith((".parquet", ".pq", ".csv", ".csv.gz", ".txt", ".tsv")):
        raise CLIError(f"{path}: use a .csv, .tsv or .parquet file (or '-' for CSV on stdin).")
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file.")
    if path.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise CLIError(f"reading {path} needs a Parquet engine: pip install pyarrow ({exc})") from exc
    return pd.read_csv(path, sep="\t" if path.endswith(".tsv") else ",")


def _select(frame, args, path: str):
    """Split off the ``--target`` column and keep the feature columns (``--columns`` / ``--drop``)."""
    y = None
    if args.target:
        if args.target not in frame.columns:
            raise CLIError(f"--target {args.target!r} is not a column of {path}: {list(frame.columns)}.")
        y = frame.pop(args.target)
    names = list(frame.columns)
    wanted = args.columns if args.columns else [c for c in names if c not in (args.drop or [])]
    missing = [c for c in [*(args.columns or []), *(args.drop or [])] if c not in names]
    if missing:
        raise CLIError(f"{path} has no column(s) {missing}; it has {names}.")
    return frame[wanted], y


def _check_columns(frame, path: str) -> None:
    """Refuse columns no estimator models; say which columns are taken as categories (a label would be)."""
    from .tabular import column_kind  # the estimators' own rule

    kinds = {c: column_kind(frame[c]) for c in frame.columns}
    bad = [c for c, k in kinds.items() if k is None]
    if bad:
        raise CLIError(
            f"{path}: column(s) {bad} have dtype {frame[bad[0]].dtype}, which skae cannot model (it takes numeric, "
            "categorical and boolean columns). Leave them out with --drop, or choose the features with --columns."
        )
    missing = [f"{c} ({int(frame[c].isna().sum())})" for c in frame.columns if frame[c].isna().any()]
    if missing:
        print(f"skae: missing values in {', '.join(missing)}: the model learns from the observed entries.",
              file=sys.stderr)
    categorical = [f"{c} ({frame[c].nunique()} categories)" for c, k in kinds.items() if k == "categorical"]
    if categorical:
        print(f"skae: modelling {', '.join(categorical)} as categorical; if one is an id or a label, leave it "
              "out with --drop (or --target for a ConditionalVAE's condition).", file=sys.stderr)


def _write_table(frame, path: str | None) -> None:
    if path is None or path == "-":
        frame.to_csv(sys.stdout, index=False)
    elif path.endswith((".parquet", ".pq")):
        try:
            frame.to_parquet(path, index=False)
        except ImportError as exc:
            raise CLIError(f"writing {path} needs a Parquet engine: pip install pyarrow ({exc})") from exc
    else:
        frame.to_csv(path, index=False)


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

    from ._registry import ESTIMATOR_NAMES, estimator_factory

    if name not in ESTIMATOR_NAMES:
        raise CLIError(f"unknown estimator {name!r}; choose from {list(ESTIMATOR_NAMES)}.")
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
    return factory(**params)


def _fit(args) -> int:
    pickle_out = args.out.endswith(_PICKLE_SUFFIXES)
    _check_output(args.out, _MODEL_SUFFIXES + _PICKLE_SUFFIXES, "model")
    estimator = _estimator(args.estimator, args.param)
    frame, y = _select(_read_table(args.data), args, args.data)
    _check_columns(frame, args.data)
    interrupted = []

    def on_interrupt(signum, frame_):
        interrupted.append(True)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: no handler, Ctrl-C is not ours to see
        previous = None
    try:
        estimator.fit(frame, y)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    history = getattr(getattr(estimator, "estimator_", estimator), "history_", None)
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
    summary = f"fitted {type(estimator).__name__} on {frame.shape[0]} rows x {frame.shape[1]} columns"
    if epochs and history is not None:
        summary += f", {epochs} epochs, final train loss {history[-1, 'train_loss']:.5g}"
    print(f"{summary}; saved to {args.out}", file=sys.stderr)
    if interrupted:
        raise _Interrupted(f"interrupted; saved the model of epoch {epochs} to {args.out}.")
    return 0


def _load_model(path: str, allow_pickle: bool):
    if path.endswith(_PICKLE_SUFFIXES):
        if not allow_pickle:
            raise CLIError(
                f"{path} is a pickle: loading it runs whatever code it holds. Pass --allow-pickle if you trust "
                "its source, or save models as .skae (weights only)."
            )
        import joblib

        return joblib.load(path)
    from . import persistence

    return persistence.load(path)


def _transform(args) -> int:
    import numpy as np
    import pandas as pd

    estimator = _load_model(args.model, args.allow_pickle)
    if args.method == "predict" and not hasattr(estimator, "predict"):
        raise CLIError(f"--method predict needs a detector model (AutoEncoderOutlierDetector); "
                       f"{args.model} holds a {type(estimator).__name__}.")
    if args.method == "reconstruct" and not hasattr(estimator, "reconstruct"):
        raise CLIError(f"--method reconstruct needs an autoencoder; {args.model} holds a {type(estimator).__name__}.")
    frame, y = _select(_read_table(args.data), args, args.data)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and not args.columns:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise CLIError(f"{args.data} lacks the model's column(s) {missing}; it has {list(frame.columns)}.")
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
    _write_table(pd.DataFrame(out, columns=columns), args.out)
    return 0


def _add_columns(p) -> None:
    p.add_argument("--columns", nargs="+", metavar="COL", help="use only these columns as features")
    p.add_argument("--drop", nargs="+", metavar="COL", help="leave these columns out (an id, a label)")
    p.add_argument("--target", metavar="COL", help="column holding the condition y (ConditionalVAE); never a feature")


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
    p.add_argument("--out", "-o", help="output .csv or .parquet (default: CSV on stdout)")
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
