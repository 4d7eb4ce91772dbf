"""Small helpers for the course notebooks.

One module per concern, named for what it holds:

- ``helpers.data``     loaders, transforms, denormalise, bundled data paths
- ``helpers.models``   pretrained backbones (offline-first), freezing, heads
- ``helpers.train``    ``fit`` / ``evaluate`` / ``predict`` and callbacks
- ``helpers.plots``    prediction grid, curves, image batches, Korean font
- ``helpers.hooks``    feature-map and gradient capture with forward hooks
- ``helpers.download`` optional online datasets with SHA-256 checks
"""

from pathlib import Path

__all__ = ["PROJECT_ROOT", "DATA_DIR"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
