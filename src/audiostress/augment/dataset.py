"""``AugmentedDataset``: load, resample, crop and run the CPU part of a corruption graph inside the loader worker.

Seeds. Item ``i`` of epoch ``e`` draws everything from
``derive_seed(seed, "train", e, i)``: the crop offset and the ``p`` decision from
a generator with that seed, and the node from a generator seeded with
``derive_seed(that seed, "node")`` (the record's ``seed``), so
``node(clean_crop, sample_rate, seed=record["seed"])`` is the item's audio. No
draw depends on the worker, the process or the order items are fetched in: the
bytes are the same for any ``num_workers``, with or without
``persistent_workers``, on any DDP rank given the global index, and after a
resume.

Epochs. ``set_epoch(e)`` writes the epoch into shared memory that every worker
copy of the dataset reads, so it also reaches persistent workers (call it before
iterating, as with ``DistributedSampler.set_epoch``). An index may also be an
``(epoch, index)`` pair, which overrides the stored epoch.

Validation. With ``validation=True`` the dataset seeds each clip the way a sweep
seeds the pair (clip, cell): ``pair_seed(seed, clip_id, cell_id)`` with the cell id
the grid gives the node (``mp3@3`` for ``create("mp3", severity=3)``), runs the
whole node on the whole clip (no crop, no ``p``, no epoch), so its audio equals
what ``audiostress sweep --seed S`` scored for that cell at that rate.
"""

from __future__ import annotations

import multiprocessing
import operator
from typing import Any

import torch
from torch.utils.data import Dataset

from ..corruptions import Node
from ..corruptions._trace import tracing
from ..corruptions.params import draw_unit
from ..runners.plan import pair_seed
from ..seeding import derive_seed, make_generator
from ._items import at_rate, read_item
from .cache import CodecCache
from .records import make_record

CROPS = ("random", "first", "center")


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The seed every draw of item ``index`` in ``epoch`` comes from."""
    return derive_seed(int(seed), "train", int(epoch), int(index))


def node_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of the node's generator for that item (the record's ``seed``)."""
    return derive_seed(item_seed(seed, epoch, index), "node")


def cell_id_of(node: Node) -> str:
    """The cell id a grid gives ``node``: ``mp3@3``, ``mp3[codecs]@5``, ``mp3_then_aac@2``, ``mp3{bitrate_kbps=128}``."""
    from ..corruptions import Cascade, Clean, Corruption
    from ..runners.grid import cell_id_for
    from .records import _explicit

    if isinstance(node, Clean):
        return "clean"
    if isinstance(node, Cascade) and node.severity is not None:
        return cell_id_for(node.name, node.severity, {}, None)
    if isinstance(node, Corruption):
        if node.severity is not None:
            default = node.levels.name if node.levels is not None else None
            return cell_id_for(node.name, node.severity, {}, None if node.table == default else node.table)
        return cell_id_for(node.name, None, _explicit(node.name, node.to_dict()["params"]), None)
    raise ValueError(
        f"Cannot name the sweep cell of {node.label()}: a validation dataset needs a corruption or cascade; "
        "pass `cell_id=` explicitly"
    )


class AugmentedDataset(Dataset):  # type: ignore[type-arg]
    """Wrap a map-style dataset so that each item comes back loaded, resampled, cropped and CPU-corrupted.

    ``base[i]`` may return a path, an ``(audio, sample_rate)`` pair, a dict with
    ``audio``/``sample_rate`` (or ``path``), ``label`` and optionally ``clip_id``, or
    an audiostress ``Clip``; an audiostress ``Dataset`` is read through its clips.
    ``node`` is split with ``split_by_placement``: the dataset runs the CPU part
    (``cpu_node``), and ``device_node`` is what ``DeviceAugment`` runs in the
    training step. ``length`` crops (``crop`` = random, first or center) to at most
    that many samples; ``p`` is the chance an item is augmented at all. Items are
    dicts for ``pad_collate``.

    >>> import numpy as np
    >>> from audiostress.corruptions import Chain, create
    >>> base = [(np.sin(np.arange(16000, dtype=np.float32) / 5), 16000)] * 2
    >>> node = Chain(create("mp3", params={"bitrate_kbps": 64}), create("gain", params={"gain_db": -6.0}))
    >>> ds = AugmentedDataset(base, node, seed=0, sample_rate=16000, length=8000)
    >>> item = ds[0]
    >>> tuple(item["audio"].shape), item["record"]["cell"], ds.cpu_node.label(), ds.device_node.label()
    ((1, 8000), 'mp3{bitrate_kbps=64}', 'mp3', 'gain')
    """

    def __init__(
        self,
        base: Any,
        node: Node,
        *,
        seed: int,
        sample_rate: int,
        length: int | None = None,
        crop: str = "random",
        p: float = 1.0,
        validation: bool = False,
        cell_id: str | None = None,
        cache: CodecCache | None = None,
    ) -> None:
        if not isinstance(node, Node):
            raise TypeError(f"Expected `node` to be a corruption node (create(...), OneOf(...)), got {type(node).__name__}")
        if crop not in CROPS:
            raise ValueError(f"Expected `crop` in {', '.join(CROPS)}, got {crop!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Expected `p` in 0..1, got {p!r}")
        if length is not None and int(length) < 1:
            raise ValueError(f"Expected `length` >= 1 samples or None (whole clips), got {length!r}")
        if int(sample_rate) <= 0:
            raise ValueError(f"Expected a positive `sample_rate` in Hz, got {sample_rate!r}")
        if validation and (float(p) != 1.0 or length is not None):
            raise ValueError("A validation dataset scores whole clips like the sweep: leave `p`=1 and `length`=None")
        self.base = base.clips if hasattr(base, "clips") and not hasattr(base, "__getitem__") else base
        self.node = node
        self.seed = int(seed)
        self.sample_rate = int(sample_rate)
        self.length = None if length is None else int(length)
        self.crop = crop
        self.p = float(p)
        self.validation = bool(validation)
        self.cell_id = cell_id if cell_id is not None else (cell_id_of(node) if validation else None)
        # In validation the whole node runs here; in training the device part is left to DeviceAugment.
        if validation:
            self.cpu_node, self.device_node = node, _clean()
        else:
            self.cpu_node, self.device_node = node.split_by_placement()
        self.cache = cache
        self._node_dict = node.to_dict()
        self._epoch = multiprocessing.get_context("spawn").RawValue("q", 0)

    # -- epochs ------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for every following item, in this process and in every worker (persistent ones too)."""
        if int(epoch) < 0:
            raise ValueError(f"Expected `epoch` >= 0, got {epoch!r}")
        self._epoch.value = int(epoch)

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    def __len__(self) -> int:
        return len(self.base)

    # -- one item ----------------------------------------------------------------------
    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        if isinstance(key, tuple):
            epoch, index = int(key[0]), int(key[1])
        else:
            epoch, index = self.epoch, operator.index(key)  # ints, numpy and torch integers
        raw = read_item(self.base[index], f"item {index} of the wrapped dataset")
        audio = at_rate(raw, self.sample_rate)
        if self.validation:
            if raw.clip_id is None:
                raise ValueError(
                    f"item {index}: a validation dataset seeds by clip id like the sweep; return a dict with `clip_id` "
                    "or an audiostress Clip"
                )
            return self._finish(index, None, raw, audio, pair_seed(self.seed, raw.clip_id, str(self.cell_id)), 0, True)
        gen = make_generator(item_seed(self.seed, epoch, index))
        start = self._crop_start(audio.shape[-1], gen)
        applied = self.p >= 1.0 or draw_unit(gen) < self.p
        if self.cache is None:
            audio = self._crop(audio, start)
        return self._finish(index, epoch, raw, audio, node_seed(self.seed, epoch, index), start, applied, gen)

    def _crop_start(self, total: int, gen: torch.Generator) -> int:
        room = total - (self.length if self.length is not None else total)
        if room <= 0 or self.crop == "first":
            return 0
        if self.crop == "center":
            return room // 2
        return int(torch.randint(0, room + 1, (1,), generator=gen))

    def _crop(self, audio: torch.Tensor, start: int) -> torch.Tensor:
        return audio if self.length is None else audio[:, start : start + self.length]

    def _finish(
        self,
        index: int,
        epoch: int | None,
        raw: Any,
        audio: torch.Tensor,
        seed: int,
        start: int,
        applied: bool,
        item_gen: torch.Generator | None = None,
    ) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        choices: dict[str, int] = {}
        gen = make_generator(seed)
        if applied and self.cache is not None and item_gen is not None:
            # Cached codecs run on the whole clip (realisation r of k, drawn from the item), then crop.
            seed, audio, trace, gen = self.cache.run(self.cpu_node, audio, self.sample_rate, item_gen)
            steps, choices = trace.steps, trace.choices
        elif applied:
            with torch.inference_mode(), tracing([gen]) as traces:
                lengths = torch.tensor([audio.shape[-1]], dtype=torch.long)
                audio = self.cpu_node.apply_items(audio.unsqueeze(0), self.sample_rate, [gen], lengths)[0]
            steps, choices = traces[0].steps, traces[0].choices
        if self.cache is not None:
            audio = self._crop(audio, start)
        record = make_record(index=index, epoch=epoch, clip_id=raw.clip_id, node=self._node_dict, seed=seed,
                             crop_start=start, length=audio.shape[-1], applied=applied, steps=steps,
                             crop_after=self.cache is not None)
        return {
            "audio": audio.contiguous(),
            "sample_rate": self.sample_rate,
            "label": raw.label,
            "seed": seed,
            "record": record,
            "generator_state": gen.get_state(),
            "choices": choices,
        }


def _clean() -> Node:
    from ..corruptions import Clean

    return Clean()
