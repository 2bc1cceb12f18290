"""The corruption contract: ``Node``, ``Corruption`` and the clean identity.

Every corruption is one class with a ``name``, declared ``params`` (units in the
names), a named five-level severity table ``levels`` and optional extra named
tables. ``apply`` is pure: parameters are drawn into a per-item dict first
(``sample``), then applied (``transform``), and nothing is stored on ``self``.
The registry lives in ``registry.py``; graph nodes in ``graph.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from .._batch import as_batch, check_sample_rate, normalise_lengths, valid_mask
from ..seeding import item_generators
from ._trace import record_step
from .call import AudioT, LengthsArg, SeedArg, call_node
from .params import Choice, Param, ParamValue, SeverityTable, Uniform, sampler_from_dict

#: Families group corruptions in `list`, grids and report panels.
FAMILIES = ("clean", "noise", "filter", "modification", "codec", "neural_codec", "graph")

#: Where a node runs: batched torch on the tensor's device, or per item in the CPU pool.
PLACEMENTS = ("device", "cpu")

ItemParams = dict[str, list[Any]]


class Node:
    """Anything that can corrupt a batch: a corruption or a graph node."""

    #: "device" or "cpu"; see ``PLACEMENTS``.
    placement: str = "device"
    stochastic: bool = False
    severity: int | None = None

    def apply(
        self,
        audio: Tensor,
        sample_rate: int,
        *,
        generator: torch.Generator | Sequence[torch.Generator] | None = None,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """Corrupt ``[C, T]`` or ``[B, C, T]`` audio; returns the same shape, dtype and device.

        ``generator`` is one CPU ``torch.Generator`` or one per batch item;
        ``lengths`` holds the valid samples of each item (the rest is padding,
        which is left at zero in the output).
        """
        who = self.label()
        batch, single = as_batch(audio, who)
        check_sample_rate(sample_rate, who)
        lens = normalise_lengths(lengths, batch, who)
        gens = item_generators(generator, batch.shape[0])
        out = self.apply_items(batch, sample_rate, gens, lens)
        return out[0] if single else out

    def __call__(self, audio: AudioT, sample_rate: int, *, seed: SeedArg = 0, lengths: LengthsArg = None) -> AudioT:
        """Corrupt a numpy array or torch tensor shaped ``[T]``, ``[C, T]`` or ``[B, C, T]``.

        Returns the same type, shape, float dtype (and device, for a tensor). A
        single clip uses ``make_generator(seed)``, as the sweep does for a pair
        whose seed is ``seed``; a batch takes one int (split per item) or one
        int per item. See ``corruptions.call`` for the details.

        >>> import numpy as np
        >>> from audiostress.corruptions import create
        >>> y = create("gain", params={"gain_db": -6.0})(np.ones(4, np.float32), 16000)
        >>> y.dtype, y.shape, round(float(y[0]), 4)
        (dtype('float32'), (4,), 0.5012)
        """
        return call_node(self, audio, sample_rate, seed=seed, lengths=lengths)

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        """Batch entry point used by graph nodes and the runner (inputs already validated)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def label(self) -> str:
        """Short human-readable name, e.g. ``mp3`` or ``chain(low_pass, mp3)``."""
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def split_by_placement(self) -> tuple[Node, Node]:
        """``(cpu_part, device_part)``: run the first per item on the CPU, then the second batched on the device.

        Running the two parts in that order, each item with its own generator
        carried from the first part to the second (and the choices of split
        ``OneOf``/``Maybe`` nodes carried with it), equals running the whole node.
        A part with nothing to do is ``Clean()``. How each graph node splits is
        described in ``graph.py``.

        >>> from audiostress.corruptions import Chain, create
        >>> cpu, dev = Chain(create("mp3", severity=3), create("gaussian_noise", severity=2)).split_by_placement()
        >>> cpu.label(), dev.label()
        ('mp3', 'gaussian_noise')
        """
        return self.split_at("root")

    def split_at(self, slot: str) -> tuple[Node, Node]:
        """``split_by_placement`` for a node found at ``slot`` of a larger graph (names the carried choices)."""
        if has_cpu_work(self):
            return self, Clean()
        return Clean(), self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))


class Corruption(Node):
    """Base class of every registered corruption.

    Subclasses set the class attributes below and override either
    ``transform_group`` (scalar parameters for a group of items; the default
    ``transform`` groups items that share parameter values) or ``transform``
    (fully vectorised, per-item parameter lists).
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    levels: ClassVar[SeverityTable | None] = None
    tables: ClassVar[Mapping[str, SeverityTable]] = {}
    #: How strength is measured against clean for the monotonicity check: "snr_db"
    #: (falls with severity) or "lsd" (log-spectral distance, rises with severity)
    #: for effects whose waveform SNR saturates (pitch shift, time stretch).
    strength_metric: ClassVar[str] = "snr_db"

    def __init__(self, **params: Any) -> None:
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(declared))
        if unknown:
            allowed = ", ".join(declared) or "none"
            raise ValueError(
                f"Unknown parameter {unknown[0]!r} for {self.name}; allowed parameters: {allowed}"
            )
        values: dict[str, ParamValue] = {}
        for p in self.params:
            raw = sampler_from_dict(params.get(p.name, p.default))
            values[p.name] = p.validate(self.name, raw)
        self._values = values
        self.check_params(values)
        # An instance with a sampled parameter draws from the generators even if the class is deterministic.
        self.stochastic = type(self).stochastic or any(hasattr(v, "draw") for v in values.values())
        self.severity = None
        self.table: str | None = None

    # -- configuration ---------------------------------------------------------------
    def check_params(self, values: Mapping[str, ParamValue]) -> None:
        """Hook for cross-parameter checks (e.g. ``low_hz < high_hz``); raise ``ValueError``."""

    @property
    def values(self) -> dict[str, ParamValue]:
        """The configured parameter values (fixed values or samplers)."""
        return dict(self._values)

    @classmethod
    def severity_table(cls, table: str | None = None) -> SeverityTable:
        if table is None or (cls.levels is not None and table == cls.levels.name):
            if cls.levels is None:
                raise ValueError(f"{cls.name} has no severity table")
            return cls.levels
        if table not in cls.tables:
            names = [cls.levels.name] if cls.levels else []
            names += list(cls.tables)
            raise ValueError(
                f"Unknown severity table {table!r} for {cls.name}; choose one of: {', '.join(names)}"
            )
        return cls.tables[table]

    @classmethod
    def at(cls, severity: int, table: str | None = None, **overrides: Any) -> Node:
        """A configured instance at ``severity`` (0 = clean identity, 1..5 from the table)."""
        check_severity(cls.name, severity)
        if severity == 0:
            return Clean()
        tab = cls.severity_table(table)
        inst = cls(**{**tab.level(severity), **overrides})
        inst.severity = severity
        inst.table = tab.name
        return inst

    # -- sampling and applying -------------------------------------------------------
    def sample(self, generators: Sequence[torch.Generator]) -> ItemParams:
        """Draw per-item parameter values: ``{name: [value for each item]}``."""
        out: ItemParams = {}
        decl = {p.name: p for p in self.params}
        for name, value in self._values.items():
            if isinstance(value, Uniform):
                drawn: list[Any] = [value.draw(g) for g in generators]
                out[name] = [int(round(v)) for v in drawn] if decl[name].kind is int else drawn
            elif isinstance(value, Choice):
                out[name] = [value.draw(g) for g in generators]
            else:
                out[name] = [value] * len(generators)
        return out

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor:
        params = self.sample(generators)
        record_step(self.name, self.placement, generators, params)
        out = self.transform(audio, sample_rate, params, generators, lengths)
        if out.shape != audio.shape or out.dtype != audio.dtype or out.device != audio.device:
            raise RuntimeError(
                f"{self.name} broke the audio contract: got {tuple(out.shape)} {out.dtype} "
                f"{out.device} for input {tuple(audio.shape)} {audio.dtype} {audio.device}"
            )
        if bool((lengths < audio.shape[-1]).any()):
            out = out * valid_mask(lengths, audio.shape[-1], out.device)
        return out

    def transform(
        self,
        audio: Tensor,
        sample_rate: int,
        params: ItemParams,
        generators: list[torch.Generator],
        lengths: Tensor,
    ) -> Tensor:
        """Apply per-item ``params``; by default groups items with equal parameters."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        names = list(params)
        for i in range(audio.shape[0]):
            key = tuple(params[n][i] for n in names)
            groups.setdefault(key, []).append(i)
        if len(groups) == 1:
            (key,) = groups
            return self.transform_group(
                audio, sample_rate, generators, lengths, **dict(zip(names, key))
            )
        out = torch.empty_like(audio)
        for key, idx in groups.items():
            index = torch.tensor(idx, device=audio.device)
            out[index] = self.transform_group(
                audio[index],
                sample_rate,
                [generators[i] for i in idx],
                lengths[idx],
                **dict(zip(names, key)),
            )
        return out

    def transform_group(
        self,
        audio: Tensor,
        sample_rate: int,
        generators: list[torch.Generator],
        lengths: Tensor,
        **params: Any,
    ) -> Tensor:
        """Apply scalar ``params`` to every item of ``audio`` ([B, C, T])."""
        raise NotImplementedError(f"{type(self).__name__} must implement transform or transform_group")

    # -- description -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "corruption",
            "name": self.name,
            "params": {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in self._values.items()},  # type: ignore[union-attr]
        }
        if self.severity is not None:
            data["severity"] = self.severity
            data["table"] = self.table
        return data

    def label(self) -> str:
        return self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Everything `audiostress list` shows about this corruption."""
        return {
            "name": cls.name,
            "family": cls.family,
            "description": cls.description,
            "placement": cls.placement,
            "stochastic": cls.stochastic,
            "strength_metric": cls.strength_metric,
            "params": [p.to_dict() for p in cls.params],
            "levels": cls.levels.to_dict() if cls.levels else None,
            "tables": {k: t.to_dict() for k, t in cls.tables.items()},
        }


def has_cpu_work(node: Node) -> bool:
    """Whether any corruption inside ``node`` is CPU-placed."""
    return node.placement == "cpu"


def has_device_work(node: Node) -> bool:
    """Whether any corruption inside ``node`` is device-placed (the clean identity does no work)."""
    if isinstance(node, Clean):
        return False
    if isinstance(node, Corruption):
        return node.placement == "device"
    return any(has_device_work(child) for child in node.children())


def check_severity(name: str, severity: object) -> int:
    """Reject anything but an integer 0..5 with an error naming the corruption."""
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity <= 5:
        raise ValueError(f"Expected severity in 0..5 for {name}, got {severity!r}")
    return severity


class Clean(Corruption):
    """The identity: severity 0 of every corruption, and the grid's clean cell."""

    name = "clean"
    family = "clean"
    description = "No corruption (the clean reference)."

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        return audio.clone()

    def to_dict(self) -> dict[str, Any]:
        return {"type": "corruption", "name": "clean", "params": {}}
