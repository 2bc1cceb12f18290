"""Codec-aware training augmentation: the sweep's corruptions inside a training loop, reproducible whatever the workers.

- ``AugmentedDataset`` wraps a map-style dataset: load, resample, crop and the
  CPU part of a graph (codecs) run in the DataLoader worker, every draw seeded by
  ``derive_seed(seed, "train", epoch, index)``;
- ``pad_collate`` builds an ``AugmentedBatch`` with per-item ``applied`` records;
- ``DeviceAugment`` runs the device part in the training step, per-item draws;
- ``presets``: ``artifactnet_4way`` and ``artifactnet_4way_random``;
- ``CodecCache``: encoded bitstreams of k realisations per clip, decoded on hit;
- ``as_audiomentations`` / ``from_audiomentations``: both ways to audiomentations.
"""

from .collate import AugmentedBatch, pad_collate
from .dataset import AugmentedDataset, cell_id_of, item_seed, node_seed
from .device import DeviceAugment
from .records import reapply

__all__ = [
    "AugmentedBatch",
    "AugmentedDataset",
    "DeviceAugment",
    "cell_id_of",
    "item_seed",
    "node_seed",
    "pad_collate",
    "reapply",
]
