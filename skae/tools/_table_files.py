"""Table files for the command line: reading them, checking what they hold, and writing results.

Reading takes CSV (also gzipped, or on stdin), TSV and Parquet: it refuses binary
files and text in another encoding, detects a CSV file's separator, and refuses
repeated header names; :func:`check_columns` then refuses columns no estimator
models and says which columns look like ids or labels.  Writing puts a result
table beside its path and renames it into place.  Every user error is a
:class:`CLIError`, which :mod:`skae.cli` prints as one line.  Like the command
line, nothing heavy (pandas) is imported until a table is read or written.
"""

from __future__ import annotations

import os
import sys

__all__ = ["CLIError", "OUTPUT_SUFFIXES", "check_columns", "read_table", "write_table"]


class CLIError(Exception):
    """A user error on the command line: printed without a traceback."""


_SEPARATORS = (",", "\t", ";", "|")  # in order of preference when several fit
_SEPARATOR_NAMES = {",": "','", "\t": "tabs", ";": "';'", "|": "'|'"}
_SAMPLE_BYTES = 1 << 20  # enough for the header and a few rows of any reasonable table


def read_table(path: str):
    """The table at ``path`` (``-``: CSV on stdin) as a DataFrame, or a one-line CLIError naming what is wrong."""
    import io

    import pandas as pd

    name = "stdin" if path == "-" else path
    if path != "-" and not path.endswith((".parquet", ".pq", ".csv", ".csv.gz", ".txt", ".tsv")):
        raise CLIError(f"{path}: use a .csv, .tsv or .parquet file (or '-' for CSV on stdin).")
    if path != "-" and not os.path.exists(path):
        raise CLIError(f"{path}: no such file.")
    if path.endswith((".parquet", ".pq")):
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise CLIError(f"reading {path} needs a Parquet engine: pip install pyarrow ({exc})") from exc
    else:
        source: str | io.BytesIO = path
        if path == "-":  # read once: stdin cannot be rewound after its start is sniffed
            stdin = getattr(sys.stdin, "buffer", None)
            source = io.BytesIO(stdin.read() if stdin is not None else sys.stdin.read().encode())
            head = source.read(_SAMPLE_BYTES)
            source.seek(0)
        else:
            with _open_bytes(path) as f:
                head = f.read(_SAMPLE_BYTES)
        lines = _text_lines(head, name, complete=len(head) < _SAMPLE_BYTES)
        sep = "\t" if path.endswith(".tsv") else _separator(lines, name)
        if sep != "," and not path.endswith(".tsv"):
            print(f"skae: reading {name} as separated by {_SEPARATOR_NAMES[sep]}.", file=sys.stderr)
        _check_header(lines, sep, name)
        try:
            frame = pd.read_csv(source, sep=sep)
        except UnicodeDecodeError as exc:  # past the sniffed start
            raise _not_text(name, exc) from exc
        except pd.errors.EmptyDataError as exc:
            raise CLIError(f"{name} is empty: a table needs a header line and at least one data row.") from exc
    if len(frame) == 0:
        raise CLIError(f"no data rows in {name}: it has only a header ({list(frame.columns)}).")
    return frame


def _open_bytes(path: str):
    import gzip

    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _not_text(name: str, exc: UnicodeDecodeError) -> CLIError:
    byte = exc.object[exc.start:exc.start + 1].hex()
    return CLIError(f"{name} is not a UTF-8 text table (byte 0x{byte} at offset {exc.start} is not UTF-8 text): "
                    "a binary file, or text in another encoding; convert it to UTF-8 CSV "
                    "(e.g. iconv -f latin1 -t utf-8).")


def _text_lines(head: bytes, name: str, complete: bool) -> list[str]:
    """The first lines of a text table from its first bytes ``head``; a CLIError if they are not text."""
    if b"\0" in head:  # text has no NUL bytes; binary files (and UTF-16) do
        raise CLIError(f"{name} is not a UTF-8 text table (it holds NUL bytes): a binary file, or text in another "
                       "encoding; give a CSV file, or a Parquet file ending in .parquet.")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - 3:
            raise _not_text(name, exc) from exc
        text = head[:exc.start].decode("utf-8-sig")  # the sample cut a character in two
    lines = text.splitlines(keepends=True)
    return (lines if complete else lines[:-1])[:50]  # the sample's last line may be cut short


def _records(lines: list[str], sep: str) -> list[list[str]]:
    import csv

    return [row for row in csv.reader(lines, delimiter=sep) if row]


def _header(lines: list[str], sep: str) -> list[str]:
    records = _records(lines, sep)
    return records[0] if records else []


def _separator(lines: list[str], name: str) -> str:
    """The separator of a CSV file: the one that splits its header and each sampled row into the same fields.

    pandas splits on commas only, and a ``;``-separated file read that way is one
    column named ``a;b;c``, which would be modelled as a category.
    """
    for sep in _SEPARATORS:
        records = _records(lines, sep)
        if records and len(records[0]) > 1 and all(len(r) == len(records[0]) for r in records):
            return sep
    splits = [sep for sep in _SEPARATORS[1:] if len(_header(lines, sep)) > 1]
    if splits and len(_header(lines, ",")) == 1:  # a one-column file must not be mistaken for this
        raise CLIError(f"{name}: its header splits on {_SEPARATOR_NAMES[splits[0]]}, but its rows do not all have "
                       "as many fields; give every row the header's fields (quote values that hold the separator).")
    return ","


def _check_header(lines: list[str], sep: str, name: str) -> None:
    """Refuse repeated column names, which pandas would rename silently (``a``, ``a.1``)."""
    import collections

    counts = collections.Counter(_header(lines, sep))
    repeated = [c for c, n in counts.items() if n > 1 and c.strip()]
    if repeated:
        raise CLIError(f"{name}: the header names column(s) {repeated} more than once; give each column its own "
                       "name (a table with repeated column names is ambiguous).")


def check_columns(frame, path: str) -> None:
    """Refuse columns no estimator models; say which columns are taken as categories (a label would be)."""
    from ..tables._layout import column_kind  # the estimators' own rule

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
    suspects = [c for c, k in kinds.items() if k == "numeric" and _looks_like_id_or_label(frame[c])]
    if suspects:
        print(f"skae: column(s) {suspects} look like an id (one value per row) or a label (a few distinct "
              "integers); if so, leave them out with --drop.", file=sys.stderr)


def _looks_like_id_or_label(column) -> bool:
    """Integers with one value per row (an id), or a few distinct integers in many rows (a label).

    A label is judged by its values (0/1) or by its name and values (``target`` holding 0, 1, 2):
    a count such as "children" with values 0..4 is a feature, and a warning on every such column
    would teach users to ignore it.
    """
    import numpy as np

    values = column.dropna().to_numpy()
    if len(values) < 20 or not np.all(np.mod(values, 1) == 0):
        return False
    distinct = np.unique(values)
    sequential = len(distinct) == len(values) and np.all(np.diff(np.sort(values)) == 1)
    binary = len(distinct) <= 2 and set(distinct) <= {0, 1}
    name = str(column.name).lower()
    named = name in _LABEL_NAMES or name.endswith(("_id", " id", "_label", "_class"))
    return bool(sequential or binary or named and (len(distinct) <= 20 or len(distinct) == len(values)))


_LABEL_NAMES = {"id", "label", "labels", "target", "class", "y", "outcome", "index", "species", "cluster"}


OUTPUT_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".json")


def write_table(frame, path: str | None) -> None:
    """Write ``frame`` to stdout (``None``, ``-``) or to ``path`` in the format its suffix names.

    A file is written beside ``path`` and renamed into place, as model files are
    (:mod:`skae.persistence`): a write that fails part-way (a full disk) or is
    interrupted leaves an earlier file at ``path`` intact.
    """
    import tempfile

    if path is None or path == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    if os.path.islink(path):  # write the file the link points to; the link stays a link
        path = os.path.realpath(path)
    from .persistence import _file_mode

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp creates 0600: the renamed file would keep it
        if path.endswith(".json"):
            frame.to_json(tmp, orient="records", indent=None)
        elif path.endswith((".parquet", ".pq")):
            try:
                frame.to_parquet(tmp, index=False)
            except ImportError as exc:
                raise CLIError(f"writing {path} needs a Parquet engine: pip install pyarrow ({exc})") from exc
        else:
            frame.to_csv(tmp, sep="\t" if path.endswith(".tsv") else ",", index=False)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before the rename, so a crash cannot leave an empty file in its place
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
