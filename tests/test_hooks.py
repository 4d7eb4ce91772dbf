import pytest
import torch
from torch import nn

from helpers.hooks import FeatureMaps, class_activation_map, count_hooks


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))


def test_feature_maps_capture_every_conv_and_clean_up():
    model = _net()
    x = torch.randn(1, 3, 10, 10)
    with FeatureMaps(model) as fmaps:
        model(x)
        assert count_hooks(model) == 2
    assert list(fmaps.maps) == ["0", "2"]
    assert fmaps.maps["2"].shape == (1, 6, 10, 10)
    assert torch.equal(fmaps.maps["0"], model[0](x))
    assert count_hooks(model) == 0


def test_hooks_removed_after_error():
    model = _net()
    try:
        with FeatureMaps(model):
            model(torch.randn(1, 5, 10, 10))  # wrong channel count
    except RuntimeError:
        pass
    assert count_hooks(model) == 0


def test_cam_highlights_the_evidence():
    """Class 1 is decided by channel 0 only; channel 0 is bright top-left, channel 1 bottom-right.

    Grad-CAM weights channels by their mean gradient, so the map must light up top-left.
    """
    conv = nn.Conv2d(2, 2, 1, bias=False)
    conv.weight.data = torch.eye(2).view(2, 2, 1, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv

        def forward(self, x):
            a = self.conv(x)
            s = a[:, 0].mean(dim=(1, 2))
            return torch.stack([-s, s], 1)

    x = torch.zeros(1, 2, 8, 8)
    x[0, 0, :4, :4] = 1.0
    x[0, 1, 4:, 4:] = 1.0
    model = Net().train()
    cam, idx = class_activation_map(model, x, conv)
    assert idx == 1 and cam.shape == (8, 8)
    assert cam[:3, :3].min() > 0.9 and cam[5:, 5:].max() < 0.1
    assert model.training and len(conv._forward_hooks) == 0


def test_inplace_relu_does_not_corrupt_captures():
    """VGG puts ReLU(inplace=True) after each conv: captured conv outputs must keep their negatives."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 2))
    x = torch.randn(1, 3, 8, 8)
    with FeatureMaps(model) as fmaps:
        model(x)
    assert fmaps.maps["0"].min() < 0
    assert torch.allclose(fmaps.maps["0"], model[0](x))
    conv_out = model[0](x)
    conv_out.retain_grad()
    model[4](model[3](model[2](torch.relu(conv_out))))[0, 1].backward()
    weights = conv_out.grad[0].mean(dim=(1, 2))  # gradient w.r.t. the conv output, before the ReLU
    by_hand = torch.relu((weights[:, None, None] * conv_out[0].detach()).sum(0))
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())
    cam, _ = class_activation_map(model, x, model[0], class_idx=1)
    assert torch.allclose(cam, by_hand, atol=1e-5)


def test_cam_accepts_one_image_and_works_under_no_grad():
    """Called from an inference cell (``torch.no_grad()``) with a (C, H, W) image: still a map, on the CPU."""
    model = _net()
    x = torch.randn(3, 10, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        cam, idx = class_activation_map(model, x, model[2])
    reference, ref_idx = class_activation_map(model, x[None], model[2])
    assert cam.shape == (10, 10) and cam.device.type == "cpu"
    assert idx == ref_idx and torch.allclose(cam, reference)


def test_cam_with_a_layer_outside_the_model_says_so():
    model = _net()
    with pytest.raises(ValueError, match="model.layer4"):
        class_activation_map(model, torch.randn(1, 3, 10, 10), nn.Conv2d(3, 3, 1))
    assert count_hooks(model) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cam_with_model_on_gpu_and_image_on_cpu():
    model = _net()
    x = torch.randn(1, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    expected, idx = class_activation_map(model, x, model[2])
    model = model.cuda()
    cam, gpu_idx = class_activation_map(model, x, model[2])          # x stays on the CPU
    assert cam.device.type == "cpu" and gpu_idx == idx
    assert torch.allclose(cam, expected, atol=1e-4)
    cam, _ = class_activation_map(model, x.cuda(), model[2])
    assert cam.device.type == "cpu"
