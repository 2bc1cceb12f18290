"""``pad_collate``: items of an ``AugmentedDataset`` -> one ``AugmentedBatch`` (zero-padded ``[B, C, T]``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._items import label_value


@dataclass
class AugmentedBatch:
    """A padded batch and what was done to each item.

    - ``audio``: float ``[B, C, T]``, zero past each item's ``lengths``;
    - ``labels``: a LongTensor when every label is an int (``bonafide``/``spoof`` words
      become 0/1), else the list of labels as given;
    - ``seeds``: the seed each item's node generator started from (int64);
    - ``applied``: one JSON-able record per item (``records.make_record``):
      ``cell``, ``codec``, ``steps`` with drawn parameters, ``seed``, crop;
    - ``generator_states`` and ``choices``: what ``DeviceAugment`` needs to continue
      each item's draws where its CPU part stopped.
    """

    audio: Tensor
    lengths: Tensor
    labels: Tensor | list[Any]
    seeds: Tensor
    applied: list[dict[str, Any]]
    sample_rate: int
    generator_states: list[Tensor]
    choices: list[dict[str, int]]

    def to(self, device: str | torch.device, non_blocking: bool = False) -> AugmentedBatch:
        """The batch with ``audio`` (and tensor labels) on ``device``; records and generator states stay on the CPU."""
        labels = self.labels.to(device, non_blocking=non_blocking) if isinstance(self.labels, Tensor) else self.labels
        return dataclasses.replace(self, audio=self.audio.to(device, non_blocking=non_blocking), labels=labels)

    def __len__(self) -> int:
        return int(self.audio.shape[0])


def pad_collate(items: Sequence[dict[str, Any]]) -> AugmentedBatch:
    """Stack dataset items into an ``AugmentedBatch``, zero-padding to the longest item.

    >>> import torch
    >>> from audiostress.corruptions import Clean
    >>> from audiostress.augment import AugmentedDataset
    >>> ds = AugmentedDataset([(torch.ones(1, 5), 8000), (torch.ones(1, 3), 8000)], Clean(), seed=0, sample_rate=8000)
    >>> batch = pad_collate([ds[0], ds[1]])
    >>> tuple(batch.audio.shape), batch.lengths.tolist(), [r["cell"] for r in batch.applied]
    ((2, 1, 5), [5, 3], ['clean', 'clean'])
    """
    if not items:
        raise ValueError("pad_collate got an empty batch")
    rates = {int(it["sample_rate"]) for it in items}
    channels = {int(it["audio"].shape[0]) for it in items}
    if len(rates) != 1 or len(channels) != 1:
        raise ValueError(f"pad_collate needs one sample rate and channel count per batch, got rates {sorted(rates)} "
                         f"and channels {sorted(channels)}")
    longest = max(int(it["audio"].shape[-1]) for it in items)
    audio = torch.zeros(len(items), channels.pop(), longest, dtype=items[0]["audio"].dtype)
    for i, it in enumerate(items):
        audio[i, :, : it["audio"].shape[-1]] = it["audio"]
    values = [label_value(it["label"]) for it in items]
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    return AugmentedBatch(
        audio=audio,
        lengths=torch.tensor([int(it["audio"].shape[-1]) for it in items], dtype=torch.long),
        labels=torch.tensor(values, dtype=torch.long) if ints else values,
        seeds=torch.tensor([int(it["seed"]) for it in items], dtype=torch.long),
        applied=[it["record"] for it in items],
        sample_rate=rates.pop(),
        generator_states=[it["generator_state"] for it in items],
        choices=[dict(it["choices"]) for it in items],
    )
