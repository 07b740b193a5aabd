"""Weights-only model files: save and load a fitted estimator without pickle.

``pickle``/``joblib`` round-trip everything (and are what scikit-learn tools
use), but loading a pickle runs arbitrary code.  A skae weights file holds only
tensors, numbers, strings, lists and dicts: what the estimator's
``get_fitted_state()`` returns (the parameters it was fitted with, its fitted
attributes, the module's weights, the training history).  It is read with
``torch.load(weights_only=True)``, which refuses anything else, and rebuilt by
the class's ``from_fitted_state``, which restores only what the format defines.

A SHA-256 digest over the content detects truncation and accidental
corruption.  It does not detect tampering: anyone who can write the file can
recompute the digest.  Loading a tampered file can give wrong predictions, but
never runs code from the file; every malformed file raises
:class:`~skae.exceptions.ModelFileError`.

    >>> skae.save(ae, "model.skae")                          # doctest: +SKIP
    >>> ae = skae.load("model.skae")                         # doctest: +SKIP

Only parameters that are JSON values (not callables, classes or callback
objects) or the missing-value markers ``None``, ``np.nan`` and ``pandas.NA``
can be stored; others raise a ``ValueError`` at ``save`` naming them.
Files are written next to their destination and renamed into place, so a
failed or interrupted save leaves an earlier file at that path intact.  A new
file gets the mode the umask allows (as ``open`` would give it), a replaced
file keeps its mode, and saving through a symbolic link writes the file it
points to.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from ..estimators._registry import FILE_CLASSES, estimator_factory
from ..exceptions import ModelFileError

__all__ = ["load", "save"]

FORMAT = "skae-weights"
VERSION = 2


# ------------------------------------------------------------------ encoding


def _encode(value, name: str):
    """``value`` as tensors and JSON values, or a ValueError naming the parameter that cannot be stored."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__ndarray__": torch.as_tensor(np.ascontiguousarray(value))}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):  # kept apart from lists so that hidden_dims=(64, 32) loads as it was given
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, (list, np.ndarray)):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, str(k)) for k, v in value.items()}
    if isinstance(value, BaseEstimator) and type(value).__name__ in FILE_CLASSES:
        return {"__estimator__": type(value).__name__, "params": _encode(value.get_params(deep=False), "params")}
    if value is None or isinstance(value, (bool, int, float, str)):  # NaN too: torch and the digest store it
        return value
    if value is pd.NA:  # a missing-value marker (an imputer's missing_values), by name: no object is stored
        return {"__missing__": "NA"}
    raise ValueError(
        f"{name}={value!r} cannot be stored in a weights-only file (only JSON values can). "
        "Pass it by name (e.g. optimizer='adam'), or save with joblib.dump instead."
    )


def _decode(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            tensor = value["__ndarray__"]
            if not isinstance(tensor, torch.Tensor):
                raise ValueError("an array entry holds no tensor.")
            return tensor.numpy().copy()
        if "__tuple__" in value:
            if not isinstance(value["__tuple__"], list):
                raise ValueError("a tuple entry holds no list.")
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__missing__" in value:
            if value["__missing__"] != "NA":
                raise ValueError(f"unknown missing-value marker {value['__missing__']!r}.")
            return pd.NA
        if "__estimator__" in value:
            return _class(value["__estimator__"])(**_decode(value["params"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _class(name) -> Any:
    if name not in FILE_CLASSES:
        raise ValueError(f"unknown estimator class {name!r} (a file may name {list(FILE_CLASSES)}).")
    return estimator_factory(name)


def _digest(node) -> str:
    """SHA-256 over the JSON values and every tensor's bytes, in a fixed order."""
    h = hashlib.sha256()

    def walk(value):
        if isinstance(value, dict):
            h.update(b"{")
            for key in sorted(value):
                h.update(json.dumps(key).encode())
                walk(value[key])
            h.update(b"}")
        elif isinstance(value, list):
            h.update(f"[{len(value)}".encode())
            for item in value:
                walk(item)
        elif isinstance(value, torch.Tensor):
            t = value.contiguous()
            h.update(f"T{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(json.dumps(value).encode())

    walk(node)
    return h.hexdigest()


# ------------------------------------------------------------------ files


def save(estimator, path: str | os.PathLike) -> None:
    """Write a fitted skae estimator to ``path`` as a weights-only file.

    The file describes the model as fitted: it stores the parameters the model
    was fitted with, even if ``set_params`` changed them since.

    Parameters
    ----------
    estimator : fitted AutoEncoder, VAE, ConditionalVAE or AutoEncoderOutlierDetector
    path : str or path-like

    Raises
    ------
    ValueError
        A parameter is not a JSON value (a class, a callable, a callback object).
    FileNotFoundError, IsADirectoryError
        ``path``'s directory does not exist, or ``path`` is a directory.
    """
    from .. import __version__

    name = type(estimator).__name__
    if name not in FILE_CLASSES or estimator_factory(name) is not type(estimator):
        raise TypeError(f"skae.save stores skae estimators ({list(FILE_CLASSES)}); got {name}.")
    path = os.fspath(path)
    if os.path.islink(path):  # write the file the link points to; the link stays a link
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save the model to {path!r}: it is a directory; give a file name.")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save the model to {path!r}: the directory {directory!r} does not exist.")
    state = _encode(estimator.get_fitted_state(), "state")
    record = {"format": FORMAT, "version": VERSION, "skae_version": __version__, "class": name, "state": state,
              "sha256": _digest({"class": name, "state": state})}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp creates 0600: the renamed file would keep it
        with os.fdopen(fd, "wb") as f:
            torch.save(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _file_mode(path: str) -> int:
    """The mode ``path`` keeps (an existing file's), or the one a new file gets under the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def load(path: str | os.PathLike, device: str | None = None):
    """Read an estimator written by :func:`save`; no code from the file is executed.

    Parameters
    ----------
    path : str or path-like
    device : str or None, default=None
        Where to put the weights; ``None`` means the device it was trained on,
        falling back to the CPU (with a warning) when that is not available.
        The estimator's ``device`` parameter is left as saved; ``device_`` says
        where the weights are.

    Returns
    -------
    estimator : fitted skae estimator

    Raises
    ------
    ModelFileError
        The file is missing, truncated, not a skae weights file, fails its
        checksum, or does not describe a valid model.
    """
    path = os.fspath(path)
    if device is not None:
        from ..model._device import resolve_device

        resolve_device(device)  # a bad device is the caller's error, not the file's
    if not os.path.exists(path):
        raise ModelFileError(f"No model file at {path!r}.")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files
        raise ModelFileError(
            f"{path!r} is not a readable skae weights file (truncated, corrupted, or it holds "
            f"objects other than tensors and plain values): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ModelFileError(f"{path!r} is not a skae weights file (written by skae.save).")
    if record.get("version") != VERSION:
        raise ModelFileError(f"{path!r} has format version {record.get('version')}; this skae reads {VERSION}.")
    try:
        digest = _digest({"class": record["class"], "state": record["state"]})
    except Exception as exc:
        raise ModelFileError(f"{path!r} is malformed: {type(exc).__name__}: {exc}") from exc
    if digest != record.get("sha256"):
        raise ModelFileError(f"{path!r} failed its checksum: the file was modified or corrupted after saving.")
    try:
        cls = _class(record["class"])
        state: dict[str, Any] = _decode(record["state"])
        return cls.from_fitted_state(state, device)
    except Exception as exc:  # whatever a crafted file triggers, the caller gets one error type
        raise ModelFileError(
            f"{path!r} does not describe a valid {record.get('class')!r} model: {type(exc).__name__}: {exc}"
        ) from exc
