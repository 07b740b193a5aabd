"""skae plugin: DeCov, a penalty on the covariance between code units.

Ω = ½ (‖C‖_F² − ‖diag C‖²), C the batch covariance of the codes
(Cogswell et al., "Reducing Overfitting in Deep Networks by Decorrelating
Representations", ICLR 2016).  Pushes code units towards carrying
non-redundant information.

Use: ``AutoEncoder(regularizers=["decorrelation"], regularizers__decorrelation__weight=1e-2)``.
"""

from __future__ import annotations

import skae
from skae.regularizers import PenaltyContext, Regularizer

__all__ = ["Decorrelation"]


class Decorrelation(Regularizer):
    """DeCov penalty on the codes.

    Parameters
    ----------
    weight : float, default=1e-2
    """

    def __init__(self, weight: float = 1e-2):
        super().__init__(weight)

    def penalty(self, ctx: PenaltyContext):
        z = ctx.codes - ctx.codes.mean(0, keepdim=True)
        cov = z.T @ z / max(len(z) - 1, 1)
        return 0.5 * (cov.square().sum() - cov.diagonal().square().sum())


@skae.hookimpl
def skae_register_regularizers(register):
    register("decorrelation", Decorrelation)
