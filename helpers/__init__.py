"""Small helpers for the course notebooks.

Read this first: the path every lesson takes, in the order a lesson calls it (each function's
docstring opens with a runnable example; the tutorial's ``train_model`` is ``run_phase`` + ``fit``):

1. ``helpers.data.make_loaders``: class folders -> ``ImageFolderDataset`` -> one ``DataLoader`` per split
2. ``helpers.models.load_pretrained`` -> ``helpers.models.set_parameter_requires_grad`` ->
   ``helpers.models.replace_head``: an ImageNet backbone, frozen, with a new head
3. ``helpers.train.run_phase`` (one pass: forward, loss, backward, step), ``helpers.train.fit``
   (epochs of ``run_phase``, callbacks after each), ``helpers.train.evaluate``, ``helpers.train.predict``
4. ``helpers.plots.plot_history``, ``helpers.plots.plot_predictions`` (titles green when right, red when wrong)

Everything else stands behind that path: students' folders and images checked (``data``), weights
offline and online (``weights``, ``download``), resuming, Ctrl-C and random state (``run``,
``checkpoint``), callbacks, devices, the environment check.

One module per concern, named for what it holds:

- ``helpers.paths``     where data, outputs and weights live (environment variables)
- ``helpers.data``      what an image and a class are, loaders, transforms, ``denormalize``
- ``helpers.models``    ``load_pretrained``, freezing, heads, blocks for fine-tuning
- ``helpers.weights``   where weights come from: the packaged backbone, caches, downloads, fallback
- ``helpers.history``   ``History``: what ``fit`` records
- ``helpers.checkpoint`` the checkpoint format: save (atomic), load, validate
- ``helpers.callbacks`` ModelCheckpoint, EarlyStopping, LRScheduler, CSVLogger, TensorBoardLogger
- ``helpers.train``     ``fit`` / ``evaluate`` / ``predict`` / ``infer``: the loop
- ``helpers.run``       what a run carries behind ``fit``: its state, resume, random states, Ctrl-C
- ``helpers.features``  cached features for a frozen backbone
- ``helpers.plots``     prediction grid, curves, image batches, Korean font
- ``helpers.hooks``     feature-map and gradient capture with forward hooks
- ``helpers.download``  optional online datasets and weights, verified by SHA-256
- ``helpers.cli``       the course commands' conventions: paths as typed, the exact command, Korean errors
- ``helpers.exercises`` self-checking exercises (통과 / 아직 풀지 않음 / 틀림)
- ``helpers.doctor``    the environment check every lesson starts with
- ``helpers.memory``    freed memory handed back to the OS (after each cell in Jupyter)
- ``helpers.startup``   what ``import helpers`` changes in the process, and how to switch each off
- ``helpers.errors``    ``CourseError``: every error a student reads, in Korean with the fix
- ``helpers.device``    ``get_device``, ``as_device`` (a device as a string or ``torch.device``)
"""
# The only side effects of importing helpers (the OpenMP wait policy, Triton marked absent where
# no GPU could use it, memory handed back after each Jupyter cell): all in helpers.startup, each
# measured there and each switchable by an environment variable; none overrides a value you set.
from helpers import startup as _startup  # noqa: E402

_startup.apply()
