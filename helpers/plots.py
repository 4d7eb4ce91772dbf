"""Pictures for the lessons: Korean font, image batches, curves, prediction grids."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import torch
from torch import nn

from helpers.data import IMAGENET, denormalize

_KOREAN_FONT_READY = False


def use_korean_font() -> str:
    """Make matplotlib draw Hangul (no missing-glyph boxes); return the font name.

    Uses NanumGothic bundled by ``koreanize-matplotlib`` so it works offline on
    any OS.  Safe to call many times.

    >>> from helpers.plots import use_korean_font
    >>> use_korean_font()
    'NanumGothic'

    Call it after ``plt.style.use(...)``: a style resets the font settings.
    """
    global _KOREAN_FONT_READY
    if not _KOREAN_FONT_READY:
        import koreanize_matplotlib  # noqa: F401  (registers NanumGothic and sets rcParams)

        _KOREAN_FONT_READY = True
    # DejaVu Sans first, NanumGothic as per-glyph fallback for Hangul: Latin text, arrows,
    # math symbols and mathtext tick labels (10^-5) keep DejaVu's glyphs (NanumGothic has
    # no U+2212 minus or arrows), and every Hangul character comes from NanumGothic.
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", "NanumGothic"]
    return "NanumGothic"


def show_batch(images: torch.Tensor, labels: torch.Tensor, class_names: list[str],
               mean=IMAGENET.mean, std=IMAGENET.std, n: int = 8, ncols: int = 8, title: str | None = None):
    """Draw the first ``n`` images of a normalised batch with their class names."""
    use_korean_font()
    n = min(n, len(images))
    nrows = (n + ncols - 1) // ncols
    fig = plt.figure(figsize=(2 * ncols, 2.2 * nrows))
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1, xticks=[], yticks=[])
        ax.imshow(denormalize(images[i], mean, std))
        ax.set_title(class_names[int(labels[i])])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history, metrics: tuple[str, ...] = ("loss", "acc"), title: str | None = None):
    """Training curves: one panel per metric, train and validation per epoch.

    ``history`` is what ``helpers.train.fit`` returns (or ``read_csv_log``).
    """
    use_korean_font()
    names = {"loss": "손실(loss)", "acc": "정확도(accuracy)"}
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for phase, style in (("train", "-o"), ("val", "-s")):
            ax.plot(history.epoch, getattr(history, f"{phase}_{metric}"), style, label=f"{phase}")
        ax.set_xlabel("에포크(epoch)")
        ax.set_ylabel(names.get(metric, metric))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def plot_predictions(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     class_names: list[str], mean=IMAGENET.mean, std=IMAGENET.std,
                     n: int = 20, ncols: int = 10, title: str | None = None):
    """The lesson's prediction grid: ``pred(label)`` titles, green when right, red when wrong.

    Switches the model to eval mode for the forward pass and restores its previous mode.
    Returns the figure; ``fig.axes[i].title.get_color()`` tells right from wrong.
    """
    use_korean_font()
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        outputs = model(images[:n].to(device)).cpu()
    finally:
        model.train(was_training)
    _, preds = torch.max(outputs, 1)
    n = min(n, len(images))
    nrows = (n + ncols - 1) // ncols
    fig = plt.figure(figsize=(2.5 * ncols, 2.8 * nrows))
    for idx in range(n):
        ax = fig.add_subplot(nrows, ncols, idx + 1, xticks=[], yticks=[])
        ax.imshow(denormalize(images[idx], mean, std))
        right = preds[idx] == labels[idx]
        ax.set_title(f"{class_names[preds[idx].item()]}({class_names[labels[idx].item()]})",
                     color="green" if right else "red")
    if title:
        fig.suptitle(title)
    top = 0.92 - (0.12 if title else 0) * (2 / max(nrows, 1))  # room for the suptitle
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top, hspace=0.3, wspace=0.1)
    return fig
