"""How long one training epoch costs on this CPU, for the choices the lessons make.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_training.py``).
Everything is timed in ONE run, interleaved over several rounds, and reported as
ratios to the feature-extraction epoch, so a slower or busier machine changes the
absolute seconds but hardly the ratios. Uses the bundled ``data/animals`` train split
(59 photos) and the offline backbone ``load_pretrained`` returns.

What it answers:
- data only: how much of an epoch is JPEG decoding + augmentation (num_workers=0)?
- feature extraction (frozen backbone, new head): the lesson 02 setting
- full training at 224 px (from scratch / fine-tuning everything): lesson 02's baseline
- full training at 160 px: the cheaper size for end-to-end training
- fine-tuning the last block + head: lesson 03's stage 2
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from helpers.data import Preprocess, dataset_dir, make_loaders
from helpers.models import freeze, load_pretrained, replace_head, unfreeze_last
from helpers.train import keep_frozen_batchnorm_in_eval, run_epoch, seed_everything


def _loader(preprocess: Preprocess, batch_size: int):
    return make_loaders(dataset_dir("animals"), preprocess, batch_size=batch_size, verify=False)[0]["train"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    seed_everything(0)
    pretrained = load_pretrained("resnet18", verbose=False)
    base = pretrained.preprocess
    small = Preprocess(base.mean, base.std, resize=183, crop=160, interpolation=base.interpolation)
    model = pretrained.model
    replace_head(model, 2)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss()
    device = torch.device("cpu")

    def data_only(loader):
        for _ in loader:
            pass

    def train(loader, trainable_blocks: int | None):
        model.load_state_dict(initial)
        freeze(model)
        if trainable_blocks is None:
            for p in model.parameters():
                p.requires_grad = True
        else:
            unfreeze_last(model, trainable_blocks)
        model.train()
        keep_frozen_batchnorm_in_eval(model)
        params = [p for p in model.parameters() if p.requires_grad]
        run_epoch(model, loader, criterion, device, torch.optim.Adam(params, lr=1e-4))

    cases = {
        "data only (decode + augment), 224 px": lambda: data_only(_loader(base, args.batch_size)),
        "feature extraction (head only), 224 px": lambda: train(_loader(base, args.batch_size), 1),
        "fine-tune last block + head, 224 px": lambda: train(_loader(base, args.batch_size), 3),
        "train everything, 224 px": lambda: train(_loader(base, args.batch_size), None),
        "train everything, 160 px": lambda: train(_loader(small, args.batch_size), None),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):  # interleaved: background load affects every case alike
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["feature extraction (head only), 224 px"])
    print(f"backbone: {pretrained.arch}; torch threads: {torch.get_num_threads()}; "
          f"one epoch over {len(_loader(base, 16).dataset)} training images; median of {args.rounds} rounds")
    print(f"{'case':42s} {'seconds':>8s} {'x feature extraction':>21s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:42s} {median:8.2f} {median / reference:21.2f}")


if __name__ == "__main__":
    main()
