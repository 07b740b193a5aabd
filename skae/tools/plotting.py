"""Small plotting helpers (matplotlib is an optional dependency: ``pip install skae[plot]``)."""

from __future__ import annotations

import numpy as np

__all__ = ["image_grid", "latent_scatter"]


def _plt():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("skae.plotting needs matplotlib: pip install 'skae[plot]'") from exc
    return plt


def image_grid(images, image_shape, n_cols=10, row_labels=None, title=None, ax=None, cmap="gray_r"):
    """Show flat images ``(n, H*W)`` as a grid; returns the matplotlib Figure.

    Parameters
    ----------
    images : array-like of shape (n, H*W), (n, 1, H, W) or (n_rows, n_cols, H*W)
    image_shape : (H, W)
    n_cols : int
    row_labels : list of str or None
    title : str or None
    ax : matplotlib Axes or None
    """
    plt = _plt()
    images = np.asarray(images, dtype=float)
    if images.ndim == 4:
        images = images.reshape(len(images), -1)
    if images.ndim == 3:
        n_cols = images.shape[1]
        images = images.reshape(-1, images.shape[-1])
    h, w = image_shape
    n_rows = int(np.ceil(len(images) / n_cols))
    canvas = np.full((n_rows * (h + 1), n_cols * (w + 1)), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = img.reshape(h, w)
    if ax is None:
        fig, ax = plt.subplots(figsize=(n_cols * 0.6 + 1, n_rows * 0.6 + 0.5))
    else:
        fig = ax.figure
    ax.imshow(canvas, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([r * (h + 1) + h / 2 for r in range(len(row_labels))])
        ax.set_yticklabels(row_labels)
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def latent_scatter(Z, labels=None, title=None, ax=None):
    """Scatter the first two latent dimensions, coloured by ``labels``; returns the Figure."""
    plt = _plt()
    Z = np.asarray(Z)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    else:
        fig = ax.figure
    sc = ax.scatter(Z[:, 0], Z[:, 1], c=labels, s=6, cmap="tab10")
    if labels is not None:
        fig.colorbar(sc, ax=ax)
    ax.set_xlabel("latent0")
    ax.set_ylabel("latent1")
    if title:
        ax.set_title(title)
    return fig
