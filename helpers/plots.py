"""Pictures for the lessons: Korean font, image batches, curves, prediction grids."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import torch
from torch import nn

from helpers.data import Preprocess, denormalize, require_preprocess
from helpers.device import device_of
from helpers.errors import CourseValueError
from helpers.memory import release_memory

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


def _image_grid(pictures: list, titles: list[str], ncols: int, colours: list[str] | None = None,
                cell: tuple[float, float] = (2.0, 2.2), title: str | None = None):
    """The one image-grid loop: picture ``idx`` (an HWC array in [0, 1]) in cell ``idx + 1`` with its
    title (and colour)."""
    n = len(titles)
    if n == 0:
        raise CourseValueError("그릴 이미지가 없습니다 (n=0 또는 빈 배치). 해결: 이미지가 1장 이상인 배치를 넘기세요.")
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig = plt.figure(figsize=(cell[0] * ncols, cell[1] * nrows))
    for idx in range(n):
        ax = fig.add_subplot(nrows, ncols, idx + 1, xticks=[], yticks=[])
        ax.imshow(pictures[idx])
        if colours is None:
            ax.set_title(titles[idx])
        else:
            ax.set_title(titles[idx], color=colours[idx])
    if title:
        fig.suptitle(title)
    top = 1 - (0.3 + (0.35 if title else 0)) / (cell[1] * nrows)  # room for titles (inches -> figure fraction)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top, hspace=0.3, wspace=0.1)
    return fig


def show_batch(images: torch.Tensor, labels: torch.Tensor, class_names: list[str], preprocess: Preprocess,
               *, n: int = 8, ncols: int = 8, title: str | None = None):
    """Draw the first ``n`` images of a normalised batch with their class names.

    >>> images, labels = next(iter(loaders["train"]))
    >>> fig = show_batch(images, labels, class_names, preprocess, n=8)
    """
    preprocess = require_preprocess(preprocess, "show_batch")
    use_korean_font()
    n = min(n, len(images))
    labels = torch.as_tensor(labels).cpu()  # a list of labels (from a Subset) works too
    pictures = [denormalize(images[i], preprocess) for i in range(n)]
    return _image_grid(pictures, [class_names[int(labels[i])] for i in range(n)], ncols, title=title)


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
                     class_names: list[str], preprocess: Preprocess, *,
                     n: int = 20, ncols: int = 10, title: str | None = None):
    """The lesson's prediction grid: ``pred(label)`` titles, green when right, red when wrong.

    Runs the model on its own device (images are moved there, results come back to the
    CPU) in eval mode, and restores the previous mode. Returns the figure;
    ``fig.axes[i].title.get_color()`` tells right from wrong.

    >>> fig = plot_predictions(model, images, labels, class_names, preprocess, n=20, ncols=10)
    """
    preprocess = require_preprocess(preprocess, "plot_predictions")
    use_korean_font()
    n = min(n, len(images))
    pictures = [denormalize(images[i], preprocess) for i in range(n)]
    was_training = model.training
    model.eval()
    try:
        device = device_of(model)  # 8 at a time: a 20-image batch at 224 px needs ~0.3 GiB more
        outputs = torch.cat([model(chunk.to(device)).cpu() for chunk in images[:n].split(8)])
    finally:
        model.train(was_training)
        release_memory()
    _, preds = torch.max(outputs, 1)
    labels = torch.as_tensor(labels).cpu()
    titles, colours = [], []
    for idx in range(n):
        pred, label = class_names[preds[idx].item()], class_names[labels[idx].item()]
        titles.append(f"{pred}({label})")
        colours.append("green" if preds[idx] == labels[idx] else "red")
    return _image_grid(pictures, titles, ncols, colours, cell=(2.5, 2.8), title=title)
