"""The default detector's members: small autoencoders trained together as one batched network.

Each member sees a random share of the columns, has its own initialisation and
draws its own shuffled batches; all members step together, their weights
stacked in one tensor per layer (one batched matrix product per layer and step
instead of a network per member).  Members of different widths share padded
tensors whose unused entries are masked to zero, so a member computes exactly
its own small network: a member trained alone with the same seed and batches
gives the same weights to float rounding (``tests/test_outlier.py``).

Why the members look the way they do (benchmarks/results_anomaly.md):

* small (a code of a quarter of their inputs, one hidden layer twice as wide),
  trained for a fixed budget of steps, counted in steps rather than epochs so
  tiny data does not run tens of thousands of epochs;
* a trimmed loss: in the second half of training each member leaves the
  quarter of each batch it reconstructs worst out of its loss, so rows that do
  not fit the bulk (the anomalies hidden in unlabelled training data) stop
  pulling the model towards them;
* a row's score is likelihood-like: its per-column errors over the columns'
  typical training errors, plus the Mahalanobis distance of its code, so rows
  off the data's manifold and rare rows on it both score high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim.adam import adam

from ._objectives import observed
from .likelihoods import Likelihood, MixedColumns

__all__ = ["EnsembleModule", "MemberShapes", "balanced_subsets", "train_ensemble"]

#: training steps of the default ensemble: enough to learn the bulk, too few to memorise outliers
STEPS = 1000
BATCH = 96
LR = 3e-3
#: share of each batch a member leaves out of its loss in the second half of training (its worst rows)
TRIM = 0.25
#: training rows whose errors and codes set the score's statistics
CALIBRATION_ROWS = 10_000


def balanced_subsets(d: int, n_members: int, share: float, rng: np.random.RandomState) -> list[np.ndarray]:
    """Column subsets of about ``share · d`` columns that cover every column about equally often.

    Subsets are cut from successive random permutations of the columns, so with
    ``share=0.5`` every pair of members sees each column exactly once: how often
    an anomaly's telltale column is seen does not depend on the draw (feature
    bagging: Lazarevic & Kumar, KDD 2005).
    """
    if share >= 1:
        return [np.arange(d) for _ in range(n_members)]
    size = max(1, round(share * d))
    subsets: list[np.ndarray] = []
    order = np.array([], dtype=np.intp)
    while len(subsets) < n_members:
        if len(order) < size:
            order = np.r_[order, rng.permutation(d)]
        subset, order = order[:size], order[size:]
        if len(np.unique(subset)) < size:  # a permutation's tail joined the next one's head: redraw this one
            subset = rng.choice(d, size, replace=False)
        subsets.append(np.sort(subset))
    return subsets


@dataclass(frozen=True)
class MemberShapes:
    """Who sees what: each member's input slots and its layer widths.

    Attributes
    ----------
    slots : list of ndarray
        The encoded slots each member sees (a categorical column is all its one-hot slots).
    hidden, latent : list of int
        Each member's hidden and code widths.
    n_slots : int
        Width of an encoded row.
    missing_input : bool
        The members also see which entries are missing (their encoders take the mask beside the values).
    """

    slots: list[np.ndarray]
    hidden: list[int]
    latent: list[int]
    n_slots: int
    missing_input: bool = False

    @classmethod
    def sized(cls, slots: list[np.ndarray], n_slots: int, missing_input: bool = False) -> MemberShapes:
        """Members sized by their input width w: a code of max(1, round(w / 4)), a hidden layer of max(8, 2w)."""
        widths = [len(s) for s in slots]
        return cls([np.asarray(s, dtype=np.intp) for s in slots], [max(8, 2 * w) for w in widths],
                   [max(1, round(0.25 * w)) for w in widths], int(n_slots), bool(missing_input))


class EnsembleModule(nn.Module):
    """M autoencoders, each ``own slots -> hidden -> code -> hidden -> own slots``, in stacked weights.

    Input ``(M, n, width)``: each member's own rows and own slots (see
    :func:`own_slots`; with ``missing_input`` the filled values and the observed
    mask side by side); output ``(M, n, width)`` and codes ``(M, n, L)``.
    Members of different widths are padded to the widest; their padded weights
    are masked to zero (when all members have the same shape, as for numeric
    arrays, there is nothing to mask).
    """

    def __init__(self, shapes: MemberShapes, seeds: list[int]):
        super().__init__()
        M, S = len(shapes.slots), shapes.n_slots
        W, H, L = max(len(s) for s in shapes.slots), max(shapes.hidden), max(shapes.latent)
        reps = 2 if shapes.missing_input else 1
        index = torch.full((M, W), S, dtype=torch.long)  # padding points at a zero column past the last slot
        for m, s in enumerate(shapes.slots):
            index[m, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        self.register_buffer("slot_index", index)
        slot = (index < S).float()
        self.register_buffer("slot_valid", slot)

        def valid(sizes, width):
            return (torch.arange(width)[None, :] < torch.as_tensor(sizes)[:, None]).float()

        hidden, latent = valid(shapes.hidden, H), valid(shapes.latent, L)
        layers = [(slot.repeat(1, reps), hidden), (hidden, latent), (latent, hidden), (hidden, slot)]
        fan_in = [[len(s) * reps for s in shapes.slots], shapes.hidden, shapes.latent, shapes.hidden]
        self.slot_index: torch.Tensor
        self.slot_valid: torch.Tensor
        self.masked = not all(bool(into.all()) and bool(out.all()) for into, out in layers)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for i, (into, out) in enumerate(layers):
            if self.masked:
                self.register_buffer(f"weight_mask{i}", into[:, :, None] * out[:, None, :])
                self.register_buffer(f"bias_mask{i}", out.clone())
            self.weights.append(nn.Parameter(torch.zeros(M, into.shape[1], out.shape[1])))
            self.biases.append(nn.Parameter(torch.zeros(M, out.shape[1])))
        with torch.no_grad():
            for m, seed in enumerate(seeds):
                # each member its own stream: trained alone with the same seed, it starts from the same weights
                g = torch.Generator().manual_seed(int(seed))
                for i, (into, out) in enumerate(layers):
                    bound = 1.0 / math.sqrt(fan_in[i][m])  # nn.Linear's default initialisation
                    w = (torch.rand(into.shape[1], out.shape[1], generator=g) * 2 - 1) * bound
                    b = (torch.rand(out.shape[1], generator=g) * 2 - 1) * bound
                    self.weights[i][m] = w * into[m][:, None] * out[m][None, :]
                    self.biases[i][m] = b * out[m]
        self.missing_input = shapes.missing_input

    def _layer(self, h: torch.Tensor, i: int) -> torch.Tensor:
        w, b = self.weights[i], self.biases[i]
        if self.masked:
            w, b = w * getattr(self, f"weight_mask{i}"), b * getattr(self, f"bias_mask{i}")
        return torch.baddbmm(b[:, None, :], h, w)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``(M, n, L)`` of the members' input rows."""
        return self._layer(torch.relu(self._layer(x, 0)), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self._layer(torch.relu(self._layer(z, 2)), 3), z


def own_slots(padded: torch.Tensor, rows: torch.Tensor, slot_index: torch.Tensor) -> torch.Tensor:
    """Each member's rows ``rows`` (M, n) at its own slots, from encoded rows with a zero column appended."""
    M, n = rows.shape
    picked = padded.index_select(0, rows.reshape(-1)).view(M, n, padded.shape[1])
    return picked.gather(2, slot_index[:, None, :].expand(M, n, slot_index.shape[1]))


def member_input(x: torch.Tensor, missing_input: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(network input, values with missing entries filled, observed mask or None)`` of rows that may hold NaN."""
    if not missing_input:
        return x, x, None
    filled, mask = observed(x)
    return torch.cat([filled, mask], dim=-1), filled, mask


class Terms:
    """Which error terms each member scores, and how they map to the detector's columns.

    Numeric arrays: a member's terms are its own slots (one per column).
    Tables: every member's output is scattered back to all slots and scored per
    original column by the table's likelihood (a softmax needs its whole
    categorical column), masked to the columns the member sees.
    """

    def __init__(self, likelihood: Likelihood, module: EnsembleModule, member_columns: np.ndarray):
        self.likelihood, self.module = likelihood, module
        self.full = isinstance(likelihood, MixedColumns)
        M, T = member_columns.shape
        if self.full:
            self.index = np.tile(np.arange(T), (M, 1))
            self.valid = member_columns.astype(np.float32)
        else:  # a slot is a column
            self.index = module.slot_index.cpu().numpy()
            self.valid = module.slot_valid.cpu().numpy()
        self.n_columns = T

    def __call__(self, padded: torch.Tensor, rows: torch.Tensor, in_range: bool = False):
        """Errors, the scored mask (seen, observed) and codes of ``rows`` (M, n) of ``padded`` encoded rows."""
        module = self.module
        x = own_slots(padded, rows, module.slot_index)
        inputs, target, mask = member_input(x, module.missing_input)
        out, codes = module(inputs)
        valid = torch.as_tensor(self.valid, device=x.device)[:, None, :]
        if not self.full:
            terms = self.likelihood.terms(target, out, in_range)
            return terms, (valid if mask is None else valid * mask).expand_as(terms), codes
        S = padded.shape[1] - 1
        full = torch.zeros(*out.shape[:2], S + 1, dtype=out.dtype, device=out.device)
        full = full.scatter(2, module.slot_index[:, None, :].expand_as(out), out)[..., :S]
        rows_full = padded[rows][..., :S]
        _, target_full, mask_full = member_input(rows_full, module.missing_input)
        terms = self.likelihood.terms(target_full, full, in_range)
        scored = valid if mask_full is None else valid * self.likelihood.term_mask(mask_full)
        return terms, scored.expand_as(terms), codes


def train_ensemble(module: EnsembleModule, terms: Terms, X: torch.Tensor, seeds: list[int], steps: int = STEPS,
                   batch: int = BATCH, lr: float = LR, trim: float = TRIM) -> None:
    """Train every member on its own shuffled batches of ``X`` (encoded, scaled rows; NaN = missing).

    Each member's batches come from its own generator (seeded by ``seeds``), so
    a member's training does not depend on the others.
    """
    n, device = len(X), X.device
    size = min(batch, n)
    keep = max(1, int(round(size * (1 - trim))))
    index = torch.empty(len(seeds), steps * size, dtype=torch.long)
    for m, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(int(seed) + 1)
        orders = [torch.randperm(n, generator=g) for _ in range(math.ceil(steps * size / n))]
        index[m] = torch.cat(orders)[: steps * size]
    index = index.view(len(seeds), steps, size).to(device)
    padded = torch.nn.functional.pad(X, (0, 1))
    weights = terms.likelihood.weights(X) if terms.full else None
    params: list[torch.Tensor] = list(module.parameters())
    # Adam's functional form: torch.optim.Adam's per-step bookkeeping cost as much as the members' maths here
    moments = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    counts = [torch.zeros((), dtype=torch.float32, device=device) for _ in params]
    fused = device.type in ("cpu", "cuda")
    module.train()
    for step in range(steps):
        errors, scored, _ = terms(padded, index[:, step], in_range=True)
        if weights is not None:
            errors = errors * weights
        rows = (errors * scored).sum(-1) / scored.sum(-1).clamp(min=1.0)
        if trim > 0 and step >= steps // 2:
            rows = rows.topk(keep, dim=1, largest=False).values
        grads = torch.autograd.grad(rows.mean(1).sum(), params)
        with torch.no_grad():
            adam(params, list(grads), *moments, [], counts, foreach=not fused, fused=fused, amsgrad=False, beta1=0.9,
                 beta2=0.999, lr=lr, weight_decay=0.0, eps=1e-8, maximize=False)
    module.eval()


def robust_location_scale(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and interquartile range along axis 0 (the scale kept above rounding level)."""
    q25, q50, q75 = np.percentile(scores, [25, 50, 75], axis=0)
    floor = np.maximum(1e-12 * np.maximum(np.abs(q50), 1.0), 1e-300)
    return q50, np.maximum(q75 - q25, floor)


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

    @property
    def n_members(self) -> int:
        return len(self.columns)

    def _outputs(self, x: torch.Tensor):
        """Errors, scored mask and codes of a chunk of scaled rows (n, S) for every member."""
        rows = torch.arange(len(x), device=x.device).expand(self.n_members, len(x))
        return self.terms(torch.nn.functional.pad(x, (0, 1)), rows)

    def calibrate(self, rows) -> None:
        """Fit the score statistics on the training rows (the errors and codes of up to 10,000 of them)."""
        from .data import Rows

        def statistics(module, x):
            terms, scored, codes = self._outputs(x)
            return (terms * scored).permute(1, 0, 2), scored.permute(1, 0, 2), codes.permute(1, 0, 2)

        sample = rows
        if len(rows) > CALIBRATION_ROWS:
            idx = np.sort(np.random.RandomState(self.seeds[0]).choice(len(rows), CALIBRATION_ROWS, replace=False))
            sample = Rows(np.asarray(rows.values[idx]), on_disk=False, input_shape=(len(idx), rows.n_features))
        # float32 chunks without the lane layout (:mod:`skae._inference`): statistics need no bit-exact rows
        terms, scored, codes = (a.astype(np.float64) for a in self.run(statistics, sample, dtype=np.float32))
        self.term_scale = (terms.sum(0) / np.maximum(scored.sum(0), 1.0)) + 1e-12
        self.code_mean = codes.mean(0)
        precision = np.zeros((self.n_members, codes.shape[2], codes.shape[2]))
        for m, k in enumerate(self.shapes.latent):
            z = codes[:, m, :k]
            cov = np.atleast_2d(np.cov(z, rowvar=False)) if len(z) > 1 else np.eye(k)
            ridge = 0.1 * np.trace(cov) / k + 1e-6
            precision[m, :k, :k] = np.linalg.inv(0.9 * cov + ridge * np.eye(k))
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
        terms, scored, codes = self._outputs(x)
        scale = self._tensor(self.term_scale, terms)[:, None, :]
        complete = self._tensor(self.terms.valid.sum(1), terms)[:, None]
        # a row with missing entries is scored on its observed columns, rescaled to all of them
        residual = (terms * scored / scale).sum(-1) * (complete / scored.sum(-1).clamp(min=1.0))
        centred = codes - self._tensor(self.code_mean, codes)[:, None, :]
        mahalanobis = torch.einsum("mnk,mkl,mnl->mn", centred, self._tensor(self.code_precision, codes), centred)
        raw = (residual + mahalanobis).T
        return (raw - self._tensor(self.location, raw)) / self._tensor(self.scale, raw)

    def _feature_scores(self, module, x):
        terms, scored, _ = self._outputs(x)
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
        """Train members on ``rows`` (:class:`skae.data.Rows`): member m sees the original ``columns[m]``.

        ``term_slots`` are each original column's encoded slots (one for a number,
        K for a categorical column).
        """
        slots = [np.concatenate([np.arange(*term_slots[j]) for j in c]) for c in columns]
        shapes = MemberShapes.sized(slots, n_slots=term_slots[-1][1], missing_input=missing_input)
        with torch.random.fork_rng():  # the members draw from their own generators; leave torch's alone
            module = EnsembleModule(shapes, seeds).to(device)
        ensemble = cls(module, likelihood, shapes, columns, len(term_slots), seeds, scaler, device)
        X = torch.as_tensor(np.asarray(scaler.transform(rows.values), dtype=np.float32), device=device)
        train_ensemble(module, ensemble.terms, X, seeds)
        ensemble.calibrate(rows)
        return ensemble

    def run(self, fn, rows, dtype=None):
        """``fn(module, x)`` over scaled chunks of ``rows`` (see :func:`skae._inference.run_chunks`)."""
        from ._inference import run_chunks

        return run_chunks(self.module, fn, rows.scaled(self.scaler), device=self.device, dtype=dtype)

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
        from ._scaling import Scaler

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
