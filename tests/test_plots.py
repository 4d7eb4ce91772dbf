import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from helpers.plots import plot_history, plot_predictions, show_batch, use_korean_font  # noqa: E402
from helpers.train import History  # noqa: E402


class FixedModel(torch.nn.Module):
    """Predicts class 0 for every image."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = torch.zeros(len(x), 2)
        out[:, 0] = 1
        return out + self.w


def test_prediction_grid_colours_and_titles():
    images, labels = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 0, 1, 0, 0])
    model = FixedModel().train()
    fig = plot_predictions(model, images, labels, ["cat", "dog"], n=6, ncols=3)
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
    fig = show_batch(torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 1, 0]), ["a", "b"], n=4, ncols=2)
    assert [ax.title.get_text() for ax in fig.axes] == ["a", "b", "b", "a"]
    plt.close(fig)
