"""``DeviceAugment``: the device part of a split graph, batched in the training step with per-item draws.

Each item continues its own generator from where the dataset's CPU part left it
(``AugmentedBatch.generator_states``) and reuses the branch choices that part
drew, so ``DeviceAugment(device_part)(pad_collate(items))`` gives every item what
the whole node would have given it alone: parameters are drawn per item, never
once for the batch. Augmentation is on whenever the module is called: it ignores
``.train()``/``.eval()`` (call it or do not); ``p`` is the only switch, drawn per
item from ``derive_seed(item seed, "device-p")`` so it never shifts the graph's own
draws.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..corruptions import Clean, Node
from ..corruptions._trace import tracing
from ..corruptions.params import draw_unit
from ..seeding import derive_seed, make_generator
from .collate import AugmentedBatch
from .records import describe_steps


class DeviceAugment(nn.Module):
    """Apply ``node`` (usually ``dataset.device_node``) to an ``AugmentedBatch`` on the batch's device.

    Returns a new batch whose ``audio`` is corrupted and whose ``applied`` records
    gain the device steps (``cell``/``codec`` updated). Items the dataset left
    clean (``applied`` false) stay clean.

    >>> import torch
    >>> from audiostress.corruptions import create
    >>> from audiostress.augment import AugmentedDataset, pad_collate
    >>> ds = AugmentedDataset([(torch.ones(1, 800) * 0.1, 8000)] * 2, create("gaussian_noise", params={"snr_db": "5..30"}),
    ...                       seed=0, sample_rate=8000)
    >>> out = DeviceAugment(ds.device_node)(pad_collate([ds[0], ds[1]]))
    >>> a, b = (r["steps"][-1]["params"]["snr_db"] for r in out.applied)
    >>> a != b
    True
    """

    def __init__(self, node: Node, p: float = 1.0) -> None:
        super().__init__()
        if not isinstance(node, Node):
            raise TypeError(f"Expected `node` to be a corruption node (dataset.device_node), got {type(node).__name__}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Expected `p` in 0..1 for DeviceAugment, got {p!r}")
        self.node = node
        self.p = float(p)

    def forward(self, batch: AugmentedBatch) -> AugmentedBatch:
        if not isinstance(batch, AugmentedBatch):
            raise TypeError(f"DeviceAugment takes the AugmentedBatch from pad_collate, got {type(batch).__name__}")
        if isinstance(self.node, Clean):
            return batch
        chosen = [i for i, rec in enumerate(batch.applied) if rec["applied"] and self._on(int(batch.seeds[i]))]
        if not chosen:
            return batch
        gens = []
        for i in chosen:
            g = make_generator(0)
            g.set_state(batch.generator_states[i])
            gens.append(g)
        index = torch.tensor(chosen, device=batch.audio.device)
        with torch.inference_mode(), tracing(gens, [batch.choices[i] for i in chosen]) as traces:
            part = self.node.apply_items(batch.audio[index], batch.sample_rate, gens, batch.lengths[chosen])
        audio = batch.audio.clone()
        audio[index] = part
        records = [dict(r) for r in batch.applied]
        for i, trace in zip(chosen, traces):
            records[i]["steps"] = list(records[i]["steps"]) + trace.steps
            records[i].update(describe_steps(records[i]["steps"]))
        return dataclasses.replace(batch, audio=audio, applied=records)

    def _on(self, seed: int) -> bool:
        return self.p >= 1.0 or draw_unit(make_generator(derive_seed(seed, "device-p"))) < self.p

    def extra_repr(self) -> str:
        return f"node={self.node.label()}, p={self.p:g}"
