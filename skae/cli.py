"""Command line: ``python -m skae`` / ``skae``."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _plugins(args) -> int:
    from . import plugins

    rows = plugins.describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    kinds = list(plugins.KINDS)
    for row in rows:
        print(f"{row['plugin']}  (distribution: {row['distribution']})")
        for kind in kinds:
            if row[kind]:
                print(f"    {kind + 's':<14} {', '.join(row[kind])}")
    return 0


class CLIError(Exception):
    """A user error on the command line: printed without a traceback."""


def _read_table(path: str):
    import pandas as pd

    if path == "-":
        frame = pd.read_csv(sys.stdin)
    elif path.endswith((".parquet", ".pq")):
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise CLIError(f"reading {path} needs a Parquet engine: pip install pyarrow ({exc})") from exc
    elif path.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        frame = pd.read_csv(path, sep="\t" if path.endswith(".tsv") else ",")
    else:
        raise CLIError(f"{path}: use a .csv, .tsv or .parquet file (or '-' for CSV on stdin).")
    return frame


def _columns(frame, columns: list[str], path: str):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CLIError(f"{path} has no column(s) {missing}; it has {list(frame.columns)}.")
    return frame[columns]


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


def _parse_value(text: str):
    """``8`` -> 8, ``0.1`` -> 0.1, ``[64,32]`` -> [64, 32], ``true`` -> True, else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _fit(args) -> int:
    import inspect

    from . import persistence
    from ._registry import ESTIMATOR_NAMES, estimator_factory

    if args.estimator not in ESTIMATOR_NAMES:
        raise CLIError(f"unknown estimator {args.estimator!r}; choose from {list(ESTIMATOR_NAMES)}.")
    params = {}
    for item in args.param:
        if "=" not in item:
            raise CLIError(f"--param takes NAME=VALUE (e.g. latent_dim=8); got {item!r}.")
        key, value = item.split("=", 1)
        params[key.strip()] = _parse_value(value)
    factory = estimator_factory(args.estimator)
    inner = {k[len("estimator__"):]: v for k, v in params.items() if k.startswith("estimator__")}
    if "estimator" in inspect.signature(factory).parameters and inner:
        # a wrapper's estimator__NAME parameters configure the AutoEncoder it wraps
        params = {k: v for k, v in params.items() if not k.startswith("estimator__")}
        params["estimator"] = estimator_factory("AutoEncoder")(**inner)
    estimator = factory(**params)
    frame = _read_table(args.data)
    y = None
    if args.target:
        if args.target not in frame.columns:
            raise CLIError(f"--target {args.target!r} is not a column of {args.data}: {list(frame.columns)}.")
        y = frame.pop(args.target)
    if args.columns:
        frame = _columns(frame, args.columns, args.data)
    estimator.fit(frame, y)
    if args.out.endswith(".joblib"):
        import joblib

        joblib.dump(estimator, args.out)
    else:
        persistence.save(estimator, args.out)
    history = getattr(getattr(estimator, "estimator_", estimator), "history_", None)
    summary = f"fitted {type(estimator).__name__} on {frame.shape[0]} rows x {frame.shape[1]} columns"
    if history is not None and len(history):
        summary += f", {len(history)} epochs, final train loss {history[-1, 'train_loss']:.5g}"
    print(f"{summary}; saved to {args.out}", file=sys.stderr)
    return 0


def _transform(args) -> int:
    import numpy as np
    import pandas as pd

    from . import persistence

    if args.model.endswith(".joblib"):
        import joblib

        estimator = joblib.load(args.model)  # a pickle: only load files you trust
    else:
        estimator = persistence.load(args.model)
    names = getattr(estimator, "feature_names_in_", None)
    frame = _read_table(args.data)
    y = None
    if args.target:
        y = frame.pop(args.target)
    if names is not None:
        frame = _columns(frame, list(names), args.data)
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
    else:  # predict
        out = np.asarray(estimator.predict(frame))[:, None]
        columns = ["prediction"]
    _write_table(pd.DataFrame(out, columns=columns), args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skae", description="scikit-learn compatible autoencoders.",
        epilog="Example: skae fit data.csv --param latent_dim=8 --out model.skae && "
               "skae transform model.skae data.csv --out latent.csv",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins and what each registers")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_plugins)

    p = sub.add_parser("fit", help="fit an estimator on a CSV/Parquet table and save it",
                       description="Fit a skae estimator on the numeric columns of a table and save the model.")
    p.add_argument("data", help="training table: .csv, .tsv, .parquet, or '-' for CSV on stdin")
    p.add_argument("--estimator", default="AutoEncoder",
                   help="AutoEncoder (default), VAE, ConditionalVAE or AutoEncoderOutlierDetector")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                   help="estimator parameter, repeatable; values are JSON (8, 0.1, [64,32], true) or strings "
                        "(e.g. -p latent_dim=8 -p regularizers='[\"l1_activity\"]'); for the detector, "
                        "estimator__NAME=VALUE sets its AutoEncoder")
    p.add_argument("--columns", nargs="+", help="use only these columns as features")
    p.add_argument("--target", help="column holding the condition y (ConditionalVAE)")
    p.add_argument("--out", "-o", required=True,
                   help="model file: weights-only .skae (safe to load) or .joblib (pickle)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("transform", help="apply a saved model to a table and write the result",
                       description="Encode (or reconstruct, score, predict) the rows of a table with a saved model.")
    p.add_argument("model", help="a model file written by 'skae fit' (.skae or .joblib)")
    p.add_argument("data", help="input table: .csv, .tsv, .parquet, or '-' for CSV on stdin")
    p.add_argument("--method", default="transform", choices=["transform", "reconstruct", "score_samples", "predict"],
                   help="transform (latent codes, default), reconstruct, score_samples, or predict (detectors)")
    p.add_argument("--target", help="column holding the condition y (ConditionalVAE)")
    p.add_argument("--out", "-o", help="output .csv or .parquet (default: CSV on stdout)")
    p.set_defaults(func=_transform)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .exceptions import ModelFileError

    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into e.g. `head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, ModelFileError, FileNotFoundError) as exc:
        print(f"skae {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:  # estimator validation: the message says what to change
        print(f"skae {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
