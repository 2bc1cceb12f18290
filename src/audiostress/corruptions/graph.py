"""Graph nodes that compose corruptions: ``Chain``, ``OneOf``, ``Maybe``, ``Cascade``.

Random decisions (which branch, whether to apply) are drawn per item from that
item's generator, so item ``i`` of a batch behaves exactly as it would alone.
Every node serialises with ``to_dict`` and is rebuilt by ``registry.from_dict``;
this module depends only on ``base`` and ``params``, never on the registry.

Splitting by placement (``Node.split_by_placement``; training runs the CPU part in
the data-loader worker and the device part in the training step):

- a node whose corruptions all sit on one side goes whole to that side;
- ``Chain``: everything up to and including the last child with CPU work goes to
  the CPU part (that child split in turn), the rest to the device part. A device
  node placed *before* a codec therefore runs on the CPU, inside the CPU part: the
  order of operations is kept, never reordered;
- ``OneOf`` mixing CPU and device branches: the branch is drawn once, in the CPU
  part (``Decided``, role ``cpu``), recorded in the item's trace under the node's
  slot, and the device part (role ``device``) applies the same branch's device half
  without drawing. ``Maybe(p, node)`` with mixed work splits as a ``OneOf`` of
  ``node`` and clean whose first bound is exactly ``p``;
- each item's generator is carried from the CPU part to the device part (its
  state), so the device half continues the same stream of draws.

The split is then exact: CPU part + device part give the bytes of the whole node
run per item, up to the float32 rounding of running a device kernel inside a
padded batch (the registry's 1e-5). The one thing the split cannot do is move
device work in front of a codec that follows it; it stays on the CPU instead.
``Decided`` parts serialise with ``to_dict`` for logs and cache keys, but are
rebuilt by splitting the original node again, not by ``from_dict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ._trace import read_choice, record_choice
from .base import Clean, Node, has_cpu_work, has_device_work
from .params import draw_unit


def _apply_subset(
    node: Node,
    audio: Tensor,
    sample_rate: int,
    generators: list[torch.Generator],
    lengths: Tensor,
    idx: list[int],
    out: Tensor,
) -> None:
    if not idx:
        return
    index = torch.tensor(idx, device=audio.device)
    out[index] = node.apply_items(audio[index], sample_rate, [generators[i] for i in idx], lengths[idx])


def _bounds(weights: Sequence[float]) -> list[float]:
    """Cumulative normalised weights: branch k is picked when u < bounds[k] (the last one catches the rest)."""
    total = sum(weights)
    bounds, acc = [], 0.0
    for w in weights:
        acc += w / total
        bounds.append(acc)
    return bounds


def _pick(bounds: Sequence[float], generators: list[torch.Generator]) -> list[int]:
    """One branch per item, drawn from that item's generator."""
    picks = []
    for g in generators:
        u = draw_unit(g)
        picks.append(next((j for j, b in enumerate(bounds) if u < b), len(bounds) - 1))
    return picks


def _run_picks(
    nodes: Sequence[Node],
    picks: Sequence[int],
    audio: Tensor,
    sample_rate: int,
    generators: list[torch.Generator],
    lengths: Tensor,
) -> Tensor:
    out = torch.empty_like(audio)
    for k, node in enumerate(nodes):
        idx = [i for i, p in enumerate(picks) if p == k]
        _apply_subset(node, audio, sample_rate, generators, lengths, idx, out)
    return out


def _join(nodes: Sequence[Node]) -> Node:
    """A chain of ``nodes`` without clean steps (``Clean()`` when none is left)."""
    kept = [n for n in nodes if not isinstance(n, Clean)]
    if not kept:
        return Clean()
    return kept[0] if len(kept) == 1 else Chain(*kept)


def _is_mixed(node: Node) -> bool:
    return has_cpu_work(node) and has_device_work(node)


class Chain(Node):
    """Apply nodes one after another: ``Chain(low_pass, mp3)``."""

    def __init__(self, *nodes: Node) -> None:
        if not nodes:
            raise ValueError("Chain needs at least one node")
        for n in nodes:
            if not isinstance(n, Node):
                raise TypeError(f"Chain takes corruption nodes, got {type(n).__name__}")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.placement = "cpu" if any(n.placement == "cpu" for n in nodes) else "device"
        self.stochastic = any(n.stochastic for n in nodes)

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        for node in self.nodes:
            audio = node.apply_items(audio, sample_rate, generators, lengths)
        return audio

    def children(self) -> tuple[Node, ...]:
        return self.nodes

    def split_at(self, slot: str) -> tuple[Node, Node]:
        if not _is_mixed(self):
            return super().split_at(slot)
        last = max(i for i, n in enumerate(self.nodes) if has_cpu_work(n))
        cpu, device = self.nodes[last].split_at(f"{slot}.{last}")
        return _join([*self.nodes[:last], cpu]), _join([device, *self.nodes[last + 1 :]])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "chain", "nodes": [n.to_dict() for n in self.nodes]}

    def label(self) -> str:
        return "chain(" + ", ".join(n.label() for n in self.nodes) + ")"


class OneOf(Node):
    """Pick one node per item, with optional ``weights`` (normalised)."""

    def __init__(self, nodes: Sequence[Node], weights: Sequence[float] | None = None) -> None:
        nodes = tuple(nodes)
        if not nodes:
            raise ValueError("OneOf needs at least one node")
        if weights is None:
            weights = [1.0] * len(nodes)
        weights = [float(w) for w in weights]
        if len(weights) != len(nodes):
            raise ValueError(f"OneOf got {len(nodes)} nodes but {len(weights)} weights")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"OneOf weights must be >= 0 with a positive sum, got {weights}")
        self.nodes = nodes
        self.weights = tuple(weights)
        self.placement = "cpu" if any(n.placement == "cpu" for n in nodes) else "device"
        self.stochastic = True

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        picks = _pick(_bounds(self.weights), generators)
        return _run_picks(self.nodes, picks, audio, sample_rate, generators, lengths)

    def children(self) -> tuple[Node, ...]:
        return self.nodes

    def split_at(self, slot: str) -> tuple[Node, Node]:
        if not _is_mixed(self):
            return super().split_at(slot)
        return _split_branches(self.nodes, _bounds(self.weights), slot)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "one_of", "nodes": [n.to_dict() for n in self.nodes], "weights": list(self.weights)}

    def label(self) -> str:
        return "one_of(" + ", ".join(n.label() for n in self.nodes) + ")"


class Maybe(Node):
    """Apply ``node`` to each item with probability ``p``; leave it clean otherwise."""

    def __init__(self, p: float, node: Node) -> None:
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Expected `p` in 0..1 for Maybe, got {p}")
        self.p = p
        self.node = node
        self.placement = node.placement
        self.stochastic = True

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        chosen = [i for i, g in enumerate(generators) if draw_unit(g) < self.p]
        out = audio.clone()
        _apply_subset(self.node, audio, sample_rate, generators, lengths, chosen, out)
        return out

    def children(self) -> tuple[Node, ...]:
        return (self.node,)

    def split_at(self, slot: str) -> tuple[Node, Node]:
        if not _is_mixed(self):
            return super().split_at(slot)
        # Maybe applies the node when u < p: branch 0 below bound p, clean above.
        return _split_branches((self.node, Clean()), [self.p, 1.0], slot)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "maybe", "p": self.p, "node": self.node.to_dict()}

    def label(self) -> str:
        return f"maybe({self.p:g}, {self.node.label()})"


class Cascade(Chain):
    """A chain that grids and reports treat as one named corruption (e.g. ``mp3_then_aac``)."""

    def __init__(self, name: str, *nodes: Node, severity: int | None = None) -> None:
        super().__init__(*nodes)
        self.name = name
        self.severity = severity

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "cascade", "name": self.name, "nodes": [n.to_dict() for n in self.nodes]}
        if self.severity is not None:
            data["severity"] = self.severity
        return data

    def label(self) -> str:
        return self.name


def _split_branches(nodes: Sequence[Node], bounds: Sequence[float], slot: str) -> tuple[Node, Node]:
    parts = [n.split_at(f"{slot}.{k}") for k, n in enumerate(nodes)]
    cpu = Decided(slot, [c for c, _ in parts], bounds, role="cpu")
    device = Decided(slot, [d for _, d in parts], bounds, role="device")
    return cpu, device


class Decided(Node):
    """One half of a split ``OneOf``/``Maybe``: the ``cpu`` role draws the branch, the ``device`` role reuses it.

    The CPU half draws exactly as the original node (same bounds, same
    ``draw_unit``) and records the branch in the item's trace under ``slot``; the
    device half reads it back (``_trace.read_choice``) and never draws. The device
    half therefore only runs inside a trace holding the CPU half's choices, as
    ``augment.DeviceAugment`` opens one.
    """

    def __init__(self, slot: str, nodes: Sequence[Node], bounds: Sequence[float], *, role: str) -> None:
        if role not in ("cpu", "device"):
            raise ValueError(f"Expected `role` 'cpu' or 'device' for Decided, got {role!r}")
        self.slot = slot
        self.nodes = tuple(nodes)
        self.bounds = tuple(float(b) for b in bounds)
        self.role = role
        self.placement = role
        self.stochastic = True

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        if self.role == "cpu":
            picks = _pick(self.bounds, generators)
            for g, k in zip(generators, picks):
                record_choice(self.slot, g, k)
        else:
            picks = []
            for g in generators:
                choice = read_choice(self.slot, g)
                if choice is None:
                    raise RuntimeError(
                        f"The device part of split node {self.slot!r} needs the branch its CPU part drew; "
                        "run it through audiostress.augment.DeviceAugment with the batch from pad_collate"
                    )
                picks.append(choice)
        return _run_picks(self.nodes, picks, audio, sample_rate, generators, lengths)

    def children(self) -> tuple[Node, ...]:
        return self.nodes

    def to_dict(self) -> dict[str, Any]:
        return {"type": "decided", "slot": self.slot, "role": self.role,
                "nodes": [n.to_dict() for n in self.nodes], "bounds": list(self.bounds)}

    def label(self) -> str:
        return f"decided[{self.role}](" + ", ".join(n.label() for n in self.nodes) + ")"
