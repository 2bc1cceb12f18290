"""Per-item traces of what a graph did: the steps each item went through and the choices drawn for it.

A trace is off unless a caller opens one with ``tracing(generators)``; graph
nodes and corruptions then report to it through ``record_step`` and
``record_choice``. Items are recognised by their generator object (the one
thing that travels with an item through ``Chain``, ``OneOf`` and ``Maybe``
subsets), so nested subsets still report to the right item. Outside a trace
every call here is one context-variable lookup and nothing else.

The augmentation pipeline uses traces for two things:
- the ``applied`` record of each training item (which corruption ran, with which
  drawn parameters);
- the choices of a split ``OneOf``/``Maybe`` (``graph.Decided``): its CPU part
  records the branch it drew under a slot name, and its device part reads it back,
  so both halves agree without drawing twice.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class ItemTrace:
    """What happened to one item: ``steps`` in order, and ``choices`` by slot (split nodes)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[str, int] = field(default_factory=dict)


_ACTIVE: contextvars.ContextVar[dict[int, ItemTrace] | None] = contextvars.ContextVar("audiostress_trace", default=None)


@contextlib.contextmanager
def tracing(
    generators: Sequence[torch.Generator], choices: Sequence[Mapping[str, int]] | None = None
) -> Iterator[list[ItemTrace]]:
    """Open a trace for the items of ``generators``; yields one ``ItemTrace`` per item.

    ``choices`` pre-loads the slot choices of each item (the device part of a split
    graph reads the choices its CPU part drew).
    """
    traces = [ItemTrace(choices=dict(choices[i]) if choices is not None else {}) for i in range(len(generators))]
    token = _ACTIVE.set({id(g): t for g, t in zip(generators, traces)})
    try:
        yield traces
    finally:
        _ACTIVE.reset(token)


def _item(generator: torch.Generator) -> ItemTrace | None:
    active = _ACTIVE.get()
    return None if active is None else active.get(id(generator))


def record_step(name: str, placement: str, generators: Sequence[torch.Generator], params: Mapping[str, list[Any]]) -> None:
    """Note that corruption ``name`` ran on these items with these per-item parameter values."""
    if _ACTIVE.get() is None:
        return
    for i, g in enumerate(generators):
        trace = _item(g)
        if trace is not None:
            trace.steps.append({"corruption": name, "placement": placement, "params": {k: v[i] for k, v in params.items()}})


def record_choice(slot: str, generator: torch.Generator, choice: int) -> None:
    """Note the branch ``choice`` a split node drew for the item of ``generator`` under ``slot``."""
    trace = _item(generator)
    if trace is not None:
        trace.choices[slot] = choice


def read_choice(slot: str, generator: torch.Generator) -> int | None:
    """The branch recorded under ``slot`` for the item of ``generator`` (None outside a trace or if absent)."""
    trace = _item(generator)
    return None if trace is None else trace.choices.get(slot)
