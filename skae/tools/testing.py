"""Checks a plugin author runs on a regularizer or conditioner.

>>> from skae.testing import check_regularizer
>>> check_regularizer("l2")
"""

from __future__ import annotations

import numbers
import pickle

import numpy as np
import torch
from sklearn.base import clone

from .. import plugins
from ..plugins.regularizers import PenaltyContext, Regularizer
from ..plugins.spec import ModelSpec

__all__ = ["check_conditioner", "check_regularizer"]


def _toy_data(n=64, d=6, seed=0):
    rng = np.random.RandomState(seed)
    return np.tanh(rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)))


def check_regularizer(name: str, device: str = "cpu", **params) -> None:
    """Validate a registered regularizer against the contract; raise AssertionError if not.

    Checks: it builds with its defaults (or ``params``) and is a
    :class:`~skae.regularizers.Regularizer`; its penalty is a finite,
    differentiable scalar on ``device`` that sends gradients to the module;
    it pickles; and an estimator using it clones and fits.
    """
    from ..estimators._autoencoder import AutoEncoder

    X = _toy_data()
    spec = ModelSpec(n_features=X.shape[1], latent_dim=3, hidden_dims=(8,), activation="elu")
    reg = plugins.build("regularizer", name, params, spec, f"regularizers__{name}__")
    assert isinstance(reg, Regularizer), f"{name}: factory must build a skae.regularizers.Regularizer"
    assert isinstance(reg.weight, numbers.Real) and reg.weight >= 0, f"{name}: weight must be a real number >= 0"
    est = AutoEncoder(latent_dim=3, hidden_dims=(8,), max_epochs=2, regularizers=[name], device=device,
                      random_state=0, **{f"regularizers__{name}__{k}": v for k, v in params.items()})
    est.fit(X)
    module = est.module_
    x = torch.as_tensor(est.scaler_.transform(X[:16]), dtype=torch.float32, device=device).requires_grad_(True)
    codes = module.encode(x)
    penalty = reg.penalty(PenaltyContext(module, x, codes, lambda xx, cc: module.encode(xx, cc)))
    if penalty is not None:
        assert isinstance(penalty, torch.Tensor) and penalty.dim() == 0, f"{name}: penalty must be a scalar tensor"
        assert penalty.device.type == torch.device(device).type, f"{name}: penalty on the wrong device"
        assert torch.isfinite(penalty), f"{name}: penalty is not finite"
        module.zero_grad()
        penalty.backward()
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads, f"{name}: penalty sends no gradient to the module's parameters"
    codes = codes.detach()
    assert reg.transform_codes(codes, training=True).shape == codes.shape, f"{name}: transform_codes changed the shape"
    clone_of = pickle.loads(pickle.dumps(reg))
    assert type(clone_of) is type(reg), f"{name}: does not pickle"
    twin = clone(est).fit(X)
    assert np.isfinite(twin.transform(X)).all(), f"{name}: clone did not fit"
    pickle.loads(pickle.dumps(est)).transform(X)


def check_conditioner(name: str, features: int = 5, cond_features: int = 3, **params) -> None:
    """Validate a registered conditioner: its layers keep the batch, report
    ``out_features`` correctly, pass gradients to h and c, and depend on c.
    """
    spec = ModelSpec(n_features=features, latent_dim=2, cond_features=cond_features)
    cond = plugins.build("conditioner", name, params, spec, "conditioning__")
    built = 0
    for where in ("input", "hidden"):
        layer = cond.make_layer(features, cond_features, where)
        if layer is None:
            continue
        built += 1
        torch.manual_seed(0)
        for p in layer.parameters():  # zero-initialised layers start as the identity
            torch.nn.init.normal_(p, std=0.5)
        h = torch.randn(4, features, requires_grad=True)
        c = torch.randn(4, cond_features, requires_grad=True)
        out = layer(h, c)
        assert out.shape == (4, layer.out_features), f"{name}: output shape {tuple(out.shape)} != (4, out_features)"
        out.sum().backward()
        assert h.grad is not None and c.grad is not None, f"{name}: no gradient to h or c at {where}"
        c2 = torch.randn(4, cond_features)
        assert not torch.allclose(layer(h, c2), out), f"{name}: output ignores the condition at {where}"
        pickle.loads(pickle.dumps(layer))
    assert built, f"{name}: builds no layer at any position"
