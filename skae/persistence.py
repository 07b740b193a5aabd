"""Weights-only model files: save and load a fitted estimator without pickle.

``pickle``/``joblib`` round-trip everything (and are what scikit-learn tools
use), but loading a pickle runs arbitrary code.  A skae weights file holds only
tensors, numbers, strings and lists: the estimator's parameters and fitted
attributes as JSON, the module's ``state_dict`` and the training history.  It
is read with ``torch.load(weights_only=True)``, which refuses anything else,
and a SHA-256 checksum over the content detects truncation and tampering.

    >>> skae.save(ae, "model.skae")                          # doctest: +SKIP
    >>> ae = skae.load("model.skae")                         # doctest: +SKIP

Only parameters that are JSON values (not callables, classes or callback
objects) can be stored; others raise a ``ValueError`` at ``save`` naming them.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from typing import Any

import numpy as np
import torch
from skorch.history import History

from .exceptions import ModelFileError

__all__ = ["load", "save"]

FORMAT = "skae-weights"
VERSION = 1


def estimator_classes() -> dict[str, type]:
    """skae's estimators by class name: what model files and the command line may name."""
    from .autoencoder import AutoEncoder
    from .conditional import ConditionalVAE
    from .outlier import AutoEncoderOutlierDetector
    from .vae import VAE

    return {c.__name__: c for c in (AutoEncoder, VAE, ConditionalVAE, AutoEncoderOutlierDetector)}


def _json_value(name: str, value):
    """``value`` as JSON, or a ValueError naming the parameter that cannot be stored."""
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_json_value(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(name, v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"{name}={value!r} cannot be stored in a weights-only file (only JSON values can). "
        "Pass it by name (e.g. optimizer='adam'), or save with joblib.dump instead."
    )


def _estimator_spec(estimator) -> dict[str, Any]:
    classes = estimator_classes()
    name = type(estimator).__name__
    if classes.get(name) is not type(estimator):
        raise TypeError(f"skae.save stores skae estimators ({sorted(classes)}); got {name}.")
    params = estimator.get_params(deep=False)
    if name == "AutoEncoderOutlierDetector":
        inner = params.pop("estimator")
        params = {k: _json_value(k, v) for k, v in params.items()}
        params["estimator"] = None if inner is None else _estimator_spec(inner)
        return {"class": name, "params": params}
    return {"class": name, "params": {k: _json_value(k, v) for k, v in params.items()}}


def _payload(estimator) -> dict[str, Any]:
    """Tensors and JSON for one fitted estimator."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    spec = _estimator_spec(estimator)
    if spec["class"] == "AutoEncoderOutlierDetector":
        meta = {"offset_": estimator.offset_, "n_features_in_": estimator.n_features_in_}
        if hasattr(estimator, "feature_names_in_"):
            meta["feature_names_in_"] = list(estimator.feature_names_in_)
        return {"spec": spec, "meta": meta, "estimator": _payload(estimator.estimator_)}
    net = estimator.net_
    arrays = {k: v for k, v in vars(estimator).items()
              if k.endswith("_") and isinstance(v, np.ndarray) and v.dtype != object}
    meta = {
        k: _json_value(k, v) for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("__") and k not in arrays
        and (v is None or isinstance(v, (int, float, str, tuple, list, np.ndarray)))
    }
    meta.update(_seed=estimator._seed, _n_train=estimator._n_train, _device=estimator._device)
    tensors = {f"array.{k}": torch.as_tensor(np.ascontiguousarray(v)) for k, v in arrays.items()}
    tensors.update({f"module.{k}": v.detach().cpu() for k, v in _plain(net.module_).state_dict().items()})
    tensors.update({f"criterion.{k}": v.detach().cpu() for k, v in _plain(net.criterion_).state_dict().items()})
    corruption = _plain(net.criterion_).corruption
    if corruption is not None:
        tensors.update({f"corruption.{k}": v.detach().cpu() for k, v in vars(corruption).items()
                        if k.endswith("_") and isinstance(v, torch.Tensor)})
    history = json.loads(json.dumps(net.history.to_list(), default=float))
    return {"spec": spec, "meta": meta, "fitted_state": _json_value("fitted state", estimator._fitted_state()),
            "history": history, "tensors": tensors}


def _plain(module):
    """The module itself, unwrapped from ``torch.compile``."""
    return getattr(module, "_orig_mod", module)


def _digest(payload: dict) -> str:
    """SHA-256 over the JSON parts and every tensor's bytes, in a fixed order."""
    h = hashlib.sha256()

    def walk(node):
        for key in sorted(node):
            value = node[key]
            h.update(key.encode())
            if key == "tensors":
                for name in sorted(value):
                    t = value[name].contiguous()
                    h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
                    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
            elif key == "estimator" and isinstance(value, dict):
                walk(value)
            else:
                h.update(json.dumps(value, sort_keys=True).encode())

    walk(payload)
    return h.hexdigest()


def save(estimator, path: str | os.PathLike) -> None:
    """Write a fitted skae estimator to ``path`` as a weights-only file.

    Parameters
    ----------
    estimator : fitted AutoEncoder, VAE, ConditionalVAE or AutoEncoderOutlierDetector
    path : str or path-like
    """
    from . import __version__

    payload = _payload(estimator)
    record = {
        "format": FORMAT,
        "version": VERSION,
        "skae_version": __version__,
        "payload": payload,
        "sha256": _digest(payload),
    }
    torch.save(record, os.fspath(path))


def load(path: str | os.PathLike, device: str | None = None):
    """Read an estimator written by :func:`save`; no code from the file is executed.

    Parameters
    ----------
    path : str or path-like
    device : str or None, default=None
        Where to put the weights; ``None`` means the device it was trained on,
        falling back to the CPU (with a warning) when that is not available.

    Returns
    -------
    estimator : fitted skae estimator

    Raises
    ------
    ModelFileError
        The file is missing, truncated, not a skae weights file, or its
        checksum does not match (modified after saving).
    """
    path = os.fspath(path)
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
    payload = record["payload"]
    if _digest(payload) != record.get("sha256"):
        raise ModelFileError(f"{path!r} failed its checksum: the file was modified or corrupted after saving.")
    return _restore(payload, device)


def _build(spec: dict):
    classes = estimator_classes()
    if spec["class"] not in classes:
        raise ModelFileError(f"Unknown estimator class {spec['class']!r} in the model file.")
    params = dict(spec["params"])
    if spec["class"] == "AutoEncoderOutlierDetector" and params.get("estimator") is not None:
        params["estimator"] = _build(params["estimator"])
    return classes[spec["class"]]().set_params(**params)


def _restore(payload: dict, device: str | None):
    from ._base import resolve_device

    estimator = _build(payload["spec"])
    meta = payload["meta"]
    if payload["spec"]["class"] == "AutoEncoderOutlierDetector":
        estimator.estimator_ = _restore(payload["estimator"], device)
        estimator.offset_ = meta["offset_"]
        estimator.n_features_in_ = meta["n_features_in_"]
        if "feature_names_in_" in meta:
            estimator.feature_names_in_ = np.asarray(meta["feature_names_in_"], dtype=object)
        return estimator

    tensors = payload["tensors"]
    target = device or meta["_device"]
    if device is None and target.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"The model was trained on {target!r}, which is not available; loading it on the CPU.",
                      stacklevel=3)
        target = "cpu"
    estimator._device = resolve_device(target)
    if estimator._device != meta["_device"]:
        estimator.device = estimator._device
    for key, value in meta.items():
        if key in ("_device",):
            continue
        if key == "image_shape_" and value is not None:
            value = tuple(value)
        elif key in ("feature_names_in_", "classes_") and value is not None:
            value = np.asarray(value, dtype=object)
        setattr(estimator, key, value)
    for name, t in tensors.items():
        if name.startswith("array."):
            setattr(estimator, name[len("array."):], t.numpy().copy())
    estimator._restore_fitted_state(payload["fitted_state"])

    n_features = estimator.n_features_in_
    regularizers = estimator._build_regularizers(n_features)
    corruption = estimator._build_corruption()
    net = estimator._build_net(n_features, estimator._n_train, regularizers, corruption)

    def part(prefix):
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    try:
        _plain(net.module_).load_state_dict(part("module."))
        _plain(net.criterion_).load_state_dict(part("criterion."))
    except RuntimeError as exc:
        raise ModelFileError(f"The model file's weights do not fit the estimator it describes: {exc}") from exc
    net.module_.to(estimator._device)
    net.criterion_.to(estimator._device)
    if corruption is not None:
        for k, v in part("corruption.").items():
            setattr(corruption, k, v.to(estimator._device))
    net.history = History(payload["history"])
    estimator.net_ = net
    estimator._inference_modules = {}
    estimator._latent_density = None
    return estimator
