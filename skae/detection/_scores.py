"""The default detector's trained ensemble: the statistics that turn its outputs into anomaly scores, and its file state.

See :mod:`skae.detection._ensemble` for the members and how they train.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..model.likelihoods import Likelihood
from ._ensemble import CALIBRATION_ROWS, EnsembleModule, MemberShapes, Terms, train_ensemble

__all__ = ["FittedEnsemble", "code_precision", "robust_location_scale"]


def robust_location_scale(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and interquartile range along axis 0 (the scale kept above rounding level)."""
    q25, q50, q75 = np.percentile(scores, [25, 50, 75], axis=0)
    floor = np.maximum(1e-12 * np.maximum(np.abs(q50), 1.0), 1e-300)
    return q50, np.maximum(q75 - q25, floor)


def code_precision(codes: np.ndarray) -> np.ndarray:
    """The precision of a Gaussian fitted to training codes, its covariance shrunk 10 % toward a multiple of I."""
    k = codes.shape[1]
    cov = np.atleast_2d(np.cov(codes, rowvar=False)) if len(codes) > 1 else np.eye(k)
    ridge = 0.1 * np.trace(cov) / k + 1e-6
    return np.linalg.inv(0.9 * cov + ridge * np.eye(k))


class FittedEnsemble:
    """A trained :class:`EnsembleModule` with what turns its outputs into standardised anomaly scores.

    Each member's raw score of a row is the sum over the columns it sees of the
    column's error over that column's mean training error (rescaled to all its
    columns when some are missing), plus the Mahalanobis distance of the row's
    code under a Gaussian fitted to the training codes; raw scores are then
    standardised by their training median and interquartile range.
    """

    def __init__(self, module: EnsembleModule, likelihood: Likelihood, shapes: MemberShapes, columns: list[np.ndarray],
                 n_columns: int, seeds: list[int], scaler, device: str):
        self.module, self.likelihood, self.shapes = module, likelihood, shapes
        self.columns, self.seeds, self.scaler, self.device = columns, [int(s) for s in seeds], scaler, device
        member_columns = np.zeros((len(columns), n_columns), dtype=np.float32)
        for m, c in enumerate(columns):
            member_columns[m, c] = 1.0
        self.terms = Terms(likelihood, module, member_columns)
        self.term_scale: np.ndarray | None = None
        self.code_mean: np.ndarray | None = None
        self.code_precision: np.ndarray | None = None
        self.location: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self._float64_module: EnsembleModule | None = None

    @property
    def n_members(self) -> int:
        return len(self.columns)

    def _outputs(self, module: EnsembleModule, x: torch.Tensor):
        """Errors, scored mask and codes of a chunk of scaled rows (n, S) for every member, computed by ``module``."""
        rows = torch.arange(len(x), device=x.device).expand(self.n_members, len(x))
        return self.terms(module, torch.nn.functional.pad(x, (0, 1)), rows)

    def calibrate(self, rows) -> None:
        """Fit the score statistics on the training rows (the errors and codes of up to 10,000 of them)."""
        from ..tables._input import Rows

        def statistics(module, x):
            terms, scored, codes = self._outputs(module, x)
            return (terms * scored).permute(1, 0, 2), scored.permute(1, 0, 2), codes.permute(1, 0, 2)

        sample = rows
        if len(rows) > CALIBRATION_ROWS:
            idx = np.sort(np.random.RandomState(self.seeds[0]).choice(len(rows), CALIBRATION_ROWS, replace=False))
            sample = Rows(np.asarray(rows.values[idx]), on_disk=False, input_shape=(len(idx), rows.n_features))
        # float32 chunks without the lane layout (:mod:`skae.model._chunks`): statistics need no bit-exact rows
        terms, scored, codes = (a.astype(np.float64) for a in self.run(statistics, sample, dtype=np.float32))
        self.term_scale = (terms.sum(0) / np.maximum(scored.sum(0), 1.0)) + 1e-12
        self.code_mean = codes.mean(0)
        precision = np.zeros((self.n_members, codes.shape[2], codes.shape[2]))
        for m, k in enumerate(self.shapes.latent):
            precision[m, :k, :k] = code_precision(codes[:, m, :k])
        self.code_precision = precision
        self.location, self.scale = np.zeros(self.n_members), np.ones(self.n_members)
        self.location, self.scale = robust_location_scale(self.scores(None, rows))

    def scores(self, X, rows) -> np.ndarray:
        """Standardised anomaly scores ``(n, M)`` of ``rows`` (the validated X) for every member."""
        return self.run(self._member_scores, rows, dtype=np.float64)

    def feature_scores(self, X, rows) -> np.ndarray:
        """Each column's error over its typical training error, averaged over the members that see it."""
        return self.run(self._feature_scores, rows, dtype=np.float64)

    def _tensor(self, value, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(value, dtype=like.dtype, device=like.device)

    def _member_scores(self, module, x):
        terms, scored, codes = self._outputs(module, x)
        scale = self._tensor(self.term_scale, terms)[:, None, :]
        complete = self._tensor(self.terms.valid.sum(1), terms)[:, None]
        # a row with missing entries is scored on its observed columns, rescaled to all of them
        residual = (terms * scored / scale).sum(-1) * (complete / scored.sum(-1).clamp(min=1.0))
        centred = codes - self._tensor(self.code_mean, codes)[:, None, :]
        precision = self._tensor(self.code_precision, codes)
        # one product per member, as the members' layers infer (EnsembleModule._layer): a batched product's kernel
        # changes with the number of rows, and a row's last bits with it
        projected = torch.stack([torch.mm(c, p) for c, p in zip(centred, precision)])
        mahalanobis = (projected * centred).sum(-1)
        raw = (residual + mahalanobis).T
        return (raw - self._tensor(self.location, raw)) / self._tensor(self.scale, raw)

    def _feature_scores(self, module, x):
        terms, scored, _ = self._outputs(module, x)
        ratio = (terms * scored / self._tensor(self.term_scale, terms)[:, None, :])
        index = torch.as_tensor(self.terms.index, device=x.device)[:, None, :].expand_as(ratio)
        T = self.terms.n_columns
        total = torch.zeros(len(x), T + 1, dtype=terms.dtype, device=x.device)
        count = torch.zeros_like(total)
        for m in range(self.n_members):  # scatter each member's terms onto the detector's columns
            total.index_add_(1, index[m, 0], ratio[m])
            count.index_add_(1, index[m, 0], scored[m])
        total, count = total[:, :T], count[:, :T]
        seen = torch.as_tensor(self.terms.valid, device=x.device)
        seen = torch.zeros(T + 1, device=x.device).index_add_(0, index[:, 0].reshape(-1), seen.reshape(-1))[:T] > 0
        # a missing entry has no error (NaN); a column no member sees has none to report (0)
        unscored = torch.where(seen, torch.full_like(total, float("nan")), torch.zeros_like(total))
        return torch.where(count > 0, total / count.clamp(min=1.0), unscored)

    # -- training -----------------------------------------------------------------------

    @classmethod
    def fit(cls, rows, scaler, likelihood: Likelihood, columns: list[np.ndarray], term_slots: list[tuple[int, int]],
            seeds: list[int], device: str, missing_input: bool) -> FittedEnsemble:
        """Train members on ``rows`` (:class:`skae.tables._input.Rows`): member m sees the original ``columns[m]``.

        ``term_slots`` are each original column's encoded slots (one for a number,
        K for a categorical column).
        """
        slots = [np.concatenate([np.arange(*term_slots[j]) for j in c]) for c in columns]
        shapes = MemberShapes.sized(slots, n_slots=term_slots[-1][1], missing_input=missing_input)
        with torch.random.fork_rng():  # the members draw from their own generators; leave torch's alone
            module = EnsembleModule(shapes, seeds).to(device)
        ensemble = cls(module, likelihood, shapes, columns, len(term_slots), seeds, scaler, device)
        X = torch.as_tensor(scaler.transform_float32(np.asarray(rows.values)), device=device)
        train_ensemble(module, ensemble.terms, X, seeds)
        ensemble.calibrate(rows)
        return ensemble

    def run(self, fn, rows, dtype=None):
        """``fn(module, x)`` over scaled chunks of ``rows`` (see :func:`skae.model._chunks.run_chunks`).

        Rows whose float32 result overflows (a squared error past float32's range: an entry at 1e20 scaled)
        are computed again in float64 by a copy of the members, as an autoencoder's are.
        """
        from ..model._chunks import run_chunks

        return run_chunks(self.module, fn, rows.scaled(self.scaler), device=self.device, dtype=dtype,
                          exact=self._exact_module)

    def _exact_module(self) -> EnsembleModule:
        """A float64 copy of the members (made once, for the rare rows float32 cannot score)."""
        if self._float64_module is None:
            self._float64_module = copy.deepcopy(self.module).double().eval()
        return self._float64_module

    def __getstate__(self):
        return {**vars(self), "_float64_module": None}  # rebuilt on demand

    # -- model files --------------------------------------------------------------------

    def to_state(self) -> dict:
        """The ensemble as plain values and tensors."""
        shapes = self.shapes
        return {
            "slots": [s.tolist() for s in shapes.slots], "hidden": list(shapes.hidden), "latent": list(shapes.latent),
            "n_slots": shapes.n_slots, "missing_input": shapes.missing_input, "seeds": list(self.seeds),
            "columns": [c.tolist() for c in self.columns], "scaling_mean": self.scaler.mean,
            "scaling_scale": self.scaler.scale, "term_scale": self.term_scale, "code_mean": self.code_mean,
            "code_precision": self.code_precision, "location": self.location, "scale": self.scale,
            "module": {k: v.detach().cpu() for k, v in self.module.state_dict().items()},
        }

    @classmethod
    def from_state(cls, state: dict, likelihood: Likelihood, n_columns: int, n_slots: int,
                   device: str) -> FittedEnsemble:
        """The ensemble :meth:`to_state` wrote; every declared size is checked against the file's tensors first.

        ``n_columns`` / ``n_slots``: the detector's columns and encoded width, from its own state.
        """
        from ..tables._scaling import Scaler

        module_state = state["module"]
        weights = [module_state.get(f"weights.{i}") for i in range(4)]
        if not all(isinstance(w, torch.Tensor) and w.ndim == 3 for w in weights):
            raise ValueError("the ensemble's weights are missing or malformed.")
        M, in_width, H = weights[0].shape
        L, W = weights[1].shape[2], weights[3].shape[2]
        hidden, latent = [int(h) for h in state["hidden"]], [int(k) for k in state["latent"]]
        slots = [np.asarray(s, dtype=np.intp) for s in state["slots"]]
        columns = [np.asarray(c, dtype=np.intp) for c in state["columns"]]
        declared_ok = (
            len(hidden) == len(latent) == len(slots) == len(columns) == len(state["seeds"]) == M >= 1
            and max(hidden) == H and max(latent) == L and int(state["n_slots"]) == n_slots
            and max(len(s) for s in slots) == W and in_width == W * (2 if state["missing_input"] else 1)
            and all(s.ndim == 1 and len(s) and s.min() >= 0 and s.max() < n_slots for s in slots)
            and all(c.ndim == 1 and len(c) and c.min() >= 0 and c.max() < n_columns for c in columns)
        )
        if not declared_ok:
            raise ValueError("the ensemble's declared shapes do not match its weights.")
        shapes = MemberShapes(slots, hidden, latent, n_slots, bool(state["missing_input"]))
        with torch.random.fork_rng():
            module = EnsembleModule(shapes, [int(s) for s in state["seeds"]])
        module.load_state_dict(module_state)
        scaler = Scaler(np.asarray(state["scaling_mean"]), np.asarray(state["scaling_scale"]))
        if scaler.mean.shape != (n_slots,) or scaler.scale.shape != (n_slots,):
            raise ValueError("the ensemble's scaling arrays do not match its width.")
        ensemble = cls(module.to(device), likelihood, shapes, columns, n_columns, state["seeds"], scaler, device)
        terms = ensemble.terms.valid.shape[1]
        for key, shape in (("term_scale", (M, terms)), ("code_mean", (M, L)), ("code_precision", (M, L, L)),
                           ("location", (M,)), ("scale", (M,))):
            value = np.asarray(state[key], dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"the ensemble's {key} has shape {value.shape}, not {shape}.")
            setattr(ensemble, key, value)
        return ensemble
