import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from helpers.data import Preprocess, denormalize  # noqa: E402
from helpers.plots import plot_history, plot_predictions, show_batch, use_korean_font  # noqa: E402
from helpers.history import History


LITE = Preprocess(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))  # not ImageNet: a wrong default would show


class FixedModel(torch.nn.Module):
    """Predicts class 0 for every image."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        assert x.device == self.w.device, "inputs must be on the model's device"
        out = torch.zeros(len(x), 2, device=x.device)
        out[:, 0] = 1
        return out + self.w


def test_prediction_grid_colours_and_titles():
    images, labels = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 0, 1, 0, 0])
    model = FixedModel().train()
    fig = plot_predictions(model, images, labels, ["cat", "dog"], LITE, n=6, ncols=3)
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == ["cat(cat)", "cat(dog)", "cat(cat)", "cat(dog)", "cat(cat)", "cat(cat)"]
    colours = [matplotlib.colors.to_hex(t.get_color()) for t in titles]
    green, red = matplotlib.colors.to_hex("green"), matplotlib.colors.to_hex("red")
    assert colours == [green, red, green, red, green, green]
    assert model.training, "previous train mode must be restored"
    assert all(ax.get_xticks().size == 0 for ax in fig.axes)
    plt.close(fig)


def test_korean_text_has_glyphs():
    name = use_korean_font()
    path = font_manager.findfont(name, fallback_to_default=False)
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    for ch in "정확도손실":
        assert font.get_char_index(ord(ch)) != 0, f"{ch} missing in {path}"


def test_history_and_batch_figures():
    h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.5, 0.8], val_loss=[1.1, 0.7],
                val_acc=[0.4, 0.7], lr=[0.1, 0.1], seconds=[1, 1])
    fig = plot_history(h)
    assert len(fig.axes) == 2
    assert list(fig.axes[1].lines[1].get_ydata()) == [0.4, 0.7]
    plt.close(fig)
    fig = show_batch(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 1, 0]), ["a", "b"], LITE, n=4, ncols=2)
    assert [ax.title.get_text() for ax in fig.axes] == ["a", "b", "b", "a"]
    plt.close(fig)


def test_both_grids_draw_with_the_given_preprocess():
    """The pixels shown are ``denormalize(image, preprocess)``: the backbone's statistics, not ImageNet's."""
    images, labels = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 0])
    for fig in (show_batch(images, labels, ["cat", "dog"], LITE, n=3, ncols=3),
                plot_predictions(FixedModel(), images, labels, ["cat", "dog"], LITE, n=3, ncols=3)):
        assert len(fig.axes) == 3
        for ax, image in zip(fig.axes, images):
            assert np.allclose(ax.images[0].get_array(), denormalize(image, LITE))
            assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
        plt.close(fig)


def test_grids_refuse_mean_where_a_preprocess_belongs():
    """``preprocess.mean`` where the Preprocess belongs fails with a Korean message that says what to pass."""
    from helpers.errors import CourseTypeError

    images, labels = torch.randn(2, 3, 8, 8), torch.tensor([0, 1])
    with pytest.raises(CourseTypeError, match="Preprocess"):
        show_batch(images, labels, ["a", "b"], LITE.mean, n=2)
    with pytest.raises(CourseTypeError, match="Preprocess"):
        plot_predictions(FixedModel(), images, labels, ["a", "b"], LITE.mean, n=2)
    with pytest.raises(TypeError):
        show_batch(images, labels, ["a", "b"])  # no silent ImageNet default
    plt.close("all")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_prediction_grid_with_model_on_gpu():
    images, labels = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 0, 1])
    model = FixedModel().cuda()
    for imgs, labs in ((images, labels), (images.cuda(), labels.cuda())):
        fig = plot_predictions(model, imgs, labs, ["cat", "dog"], LITE, n=4, ncols=2)
        assert [ax.title.get_text() for ax in fig.axes] == ["cat(cat)", "cat(dog)", "cat(cat)", "cat(dog)"]
        plt.close(fig)
    fig = show_batch(images.cuda(), labels.cuda(), ["cat", "dog"], LITE, n=4)
    plt.close(fig)


def test_grids_take_labels_from_a_subset_as_a_list(image_tree):
    """Images and labels gathered from a Subset of an ImageFolder (labels: a list of ints)."""
    from torch.utils.data import Subset
    from torchvision import datasets

    from helpers.data import dataset_classes

    folder = datasets.ImageFolder(image_tree / "val", transform=LITE.eval_transform())
    subset = Subset(folder, [0, 3, 4])
    images = torch.stack([subset[i][0] for i in range(3)])
    labels = [subset[i][1] for i in range(3)]
    names = dataset_classes(subset)
    assert names == ["blue", "red"]
    fig = show_batch(images, labels, names, LITE, n=3, ncols=3)
    assert [ax.title.get_text() for ax in fig.axes] == ["blue", "red", "red"]
    plt.close(fig)
    fig = plot_predictions(FixedModel(), images, labels, names, LITE, n=3, ncols=3)
    assert len(fig.axes) == 3
    plt.close(fig)
