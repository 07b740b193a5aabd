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

from ..model.likelihoods import Likelihood, MixedColumns
from ..training._objectives import observed

__all__ = ["CALIBRATION_ROWS", "EnsembleModule", "MemberShapes", "Terms", "balanced_subsets", "train_ensemble"]

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
        if torch.is_grad_enabled():
            return torch.baddbmm(b[:, None, :], h, w)
        # inference: one matrix product per member.  baddbmm sums small products (inner size x rows x
        # outputs under 400) with a kernel of its own and larger ones by BLAS, so a row's score would
        # change with the number of rows passed with it (:mod:`skae.model._chunks` keeps addmm's exact)
        return torch.stack([torch.addmm(b[m], h[m], w[m]) for m in range(len(w))])

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


def member_input(x: torch.Tensor, missing_input: bool,
                 check: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(network input, values with missing entries filled, observed mask or None)`` of rows that may hold NaN.

    Members trained on rows with missing entries see the mask beside the
    values; members trained on complete rows see missing entries at the column
    mean (0 in scaled units).  ``check=False``: the rows are known complete.
    """
    if missing_input:
        filled, mask = observed(x)
        return torch.cat([filled, mask], dim=-1), filled, mask
    if check and bool(torch.isnan(x).any()):
        filled, mask = observed(x)
        return filled, filled, mask
    return x, x, None


class Terms:
    """Which error terms each member scores, and how they map to the detector's columns.

    Numeric arrays: a member's terms are its own slots (one per column).
    Tables: every member's output is scattered back to all slots and scored per
    original column by the table's likelihood (a softmax needs its whole
    categorical column), masked to the columns the member sees.
    """

    def __init__(self, likelihood: Likelihood, module: EnsembleModule, member_columns: np.ndarray):
        self.likelihood = likelihood
        self.full = isinstance(likelihood, MixedColumns)
        M, T = member_columns.shape
        if self.full:
            self.index = np.tile(np.arange(T), (M, 1))
            self.valid = member_columns.astype(np.float32)
        else:  # a slot is a column
            self.index = module.slot_index.cpu().numpy()
            self.valid = module.slot_valid.cpu().numpy()
        self.n_columns = T

    def __call__(self, module: EnsembleModule, padded: torch.Tensor, rows: torch.Tensor, in_range: bool = False,
                 check: bool = True):
        """Errors, the scored mask (seen, observed) and codes of ``rows`` (M, n) of ``padded`` encoded rows.

        ``module``: the trained members, or their float64 copy (for rows float32 cannot score).
        ``check=False``: the rows are known complete (training on complete data).
        """
        x = own_slots(padded, rows, module.slot_index)
        inputs, target, mask = member_input(x, module.missing_input, check)
        out, codes = module(inputs)
        valid = torch.as_tensor(self.valid, dtype=x.dtype, device=x.device)[:, None, :]
        if not self.full:
            terms = self.likelihood.terms(target, out, in_range)
            return terms, (valid if mask is None else valid * mask).expand_as(terms), codes
        S = padded.shape[1] - 1
        full = torch.zeros(*out.shape[:2], S + 1, dtype=out.dtype, device=out.device)
        full = full.scatter(2, module.slot_index[:, None, :].expand_as(out), out)[..., :S]
        rows_full = padded[rows][..., :S]
        _, target_full, mask_full = member_input(rows_full, module.missing_input, check)
        terms = self.likelihood.terms(target_full, full, in_range)
        scored = (valid if mask_full is None else valid * self.likelihood.term_mask(mask_full)).expand_as(terms)
        # the columns a member does not see are zeroed, not multiplied by 0: their float32 errors can overflow
        # (an entry at 1e20 squared), and inf · 0 = NaN would hide the row from its float64 recomputation
        terms = torch.where(scored > 0, terms, torch.zeros((), dtype=terms.dtype, device=terms.device))
        return terms, scored, codes


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
        errors, scored, _ = terms(module, padded, index[:, step], in_range=True, check=False)
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
