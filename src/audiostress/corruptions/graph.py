"""Graph nodes that compose corruptions: ``Chain``, ``OneOf``, ``Maybe``, ``Cascade``.

Random decisions (which branch, whether to apply) are drawn per item from that
item's generator, so item ``i`` of a batch behaves exactly as it would alone.
Every node serialises with ``to_dict`` and is rebuilt by ``registry.from_dict``;
this module depends only on ``base`` and ``params``, never on the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .base import Node
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
        total = sum(self.weights)
        bounds, acc = [], 0.0
        for w in self.weights:
            acc += w / total
            bounds.append(acc)
        picks: list[list[int]] = [[] for _ in self.nodes]
        for i, g in enumerate(generators):
            u = draw_unit(g)
            k = next((j for j, b in enumerate(bounds) if u < b), len(bounds) - 1)
            picks[k].append(i)
        out = torch.empty_like(audio)
        for node, idx in zip(self.nodes, picks):
            _apply_subset(node, audio, sample_rate, generators, lengths, idx, out)
        return out

    def children(self) -> tuple[Node, ...]:
        return self.nodes

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
