"""The one registry: corruptions and named cascades by ``name``, and rebuilding nodes from dicts.

Corruptions register themselves with ``@register`` when their module is
imported; cascades with ``register_cascade``. ``load_builtins`` loads every
entry point of the ``audiostress.corruptions`` group once (the built-ins are
one such entry point; see ``plugins.py``). The graph nodes (``graph.py``) know
nothing of the registry; the registry builds them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import plugins
from .base import FAMILIES, PLACEMENTS, Clean, Corruption, Node, check_severity
from .call import AudioT, SeedArg
from .graph import Cascade, Chain, Maybe, OneOf
from .params import sampler_from_dict

_CORRUPTIONS: dict[str, type[Corruption]] = {"clean": Clean}
_LOADED = False


def register(cls: type[Corruption]) -> type[Corruption]:
    """Class decorator: validate a corruption's declarations and add it to the registry."""
    name = cls.name
    if not name or not name.replace("_", "a").isalnum() or name.lower() != name:
        raise ValueError(f"Corruption name must be snake_case, got {name!r}")
    if name in _CORRUPTIONS and _CORRUPTIONS[name] is not cls:
        raise ValueError(f"Corruption {name!r} is already registered by {_CORRUPTIONS[name].__module__}")
    if name in CASCADES:
        raise ValueError(f"Corruption {name!r} clashes with the cascade of that name")
    if cls.family not in FAMILIES:
        raise ValueError(f"{name}: family must be one of {FAMILIES}, got {cls.family!r}")
    if cls.placement not in PLACEMENTS:
        raise ValueError(f"{name}: placement must be one of {PLACEMENTS}, got {cls.placement!r}")
    if cls is not Clean and cls.levels is None:
        raise ValueError(f"{name}: a severity table (`levels`) is required")
    declared = {p.name: p for p in cls.params}
    tables = ([cls.levels] if cls.levels else []) + list(cls.tables.values())
    for table in tables:
        for i, level in enumerate(table.levels, start=1):
            for key, value in level.items():
                if key not in declared:
                    raise ValueError(f"{name}: table {table.name!r} level {i} sets unknown parameter {key!r}")
                declared[key].validate(name, value)
    _CORRUPTIONS[name] = cls
    return cls


def load_builtins() -> None:
    """Load every corruption entry point (built-ins and plugins) once; idempotent.

    A plugin that fails raises ``plugins.PluginError``; the next call retries.
    """
    global _LOADED
    if _LOADED:
        return
    plugins.load_all()
    _LOADED = True


# -- cascades ------------------------------------------------------------------------


@dataclass(frozen=True)
class CascadeSpec:
    """A registered cascade: stage corruption names and the table each stage uses."""

    name: str
    stages: tuple[str, ...]
    description: str
    stage_tables: tuple[str | None, ...] = ()

    def tables(self) -> tuple[str | None, ...]:
        """The table of each stage (``None``: the stage's default table)."""
        return self.stage_tables or (None,) * len(self.stages)

    def describe(self) -> dict[str, Any]:
        """What `audiostress list` shows: stages and every stage's parameters at severities 1..5."""
        return {
            "name": self.name,
            "family": "graph",
            "description": self.description,
            "stages": list(self.stages),
            "levels": [
                {stage: get(stage).severity_table(t).level(s) for stage, t in zip(self.stages, self.tables())}
                for s in range(1, 6)
            ],
        }


CASCADES: dict[str, CascadeSpec] = {}


def register_cascade(
    name: str, stages: Sequence[str], description: str, stage_tables: Sequence[str | None] = ()
) -> CascadeSpec:
    """Register a named cascade; severity ``s`` runs every stage at its severity ``s``."""
    if stage_tables and len(stage_tables) != len(stages):
        raise ValueError(f"Cascade {name!r}: {len(stages)} stages but {len(stage_tables)} tables")
    if name in _CORRUPTIONS:
        raise ValueError(f"Cascade {name!r} clashes with the corruption of that name")
    spec = CascadeSpec(name, tuple(stages), description, tuple(stage_tables))
    CASCADES[name] = spec
    return spec


def cascade_at(name: str, severity: int) -> Node:
    """The named cascade with every stage at ``severity`` (0 = clean)."""
    load_builtins()
    if name not in CASCADES:
        raise ValueError(unknown_name_message(name))
    check_severity(name, severity)
    if severity == 0:
        return Clean()
    spec = CASCADES[name]
    nodes = [create(stage, severity=severity, table=t) for stage, t in zip(spec.stages, spec.tables())]
    return Cascade(name, *nodes, severity=severity)


# -- lookup and construction ---------------------------------------------------------


def available(family: str | None = None) -> list[str]:
    """Registered corruption names (cascades included), sorted; optionally one family."""
    load_builtins()
    names = [n for n, c in _CORRUPTIONS.items() if family is None or c.family == family]
    if family in (None, "graph"):
        names += list(CASCADES)
    return sorted(names)


def get(name: str) -> type[Corruption]:
    """The corruption class called ``name``; unknown names list the choices."""
    load_builtins()
    if name in _CORRUPTIONS:
        return _CORRUPTIONS[name]
    raise ValueError(unknown_name_message(name))


def unknown_name_message(name: str) -> str:
    """``Unknown corruption 'x'. Did you mean ...? Choose one of: ...``."""
    choices = available()
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"Unknown corruption {name!r}.{hint} Choose one of: {', '.join(choices)}"


def create(
    name: str,
    severity: int | None = None,
    params: dict[str, Any] | None = None,
    table: str | None = None,
) -> Node:
    """Build a corruption or cascade by name, at a severity and/or with explicit params.

    Parameter values may be fixed values, samplers, or the CLI's text syntax:
    ``"5..20"`` (uniform) and ``"pink|brown"`` (choice).

    >>> create("gaussian_noise", severity=3).to_dict()["params"]["snr_db"]
    20.0
    >>> create("gaussian_noise", params={"snr_db": "5..20"}).to_dict()["params"]["snr_db"]
    {'uniform': [5.0, 20.0]}
    """
    load_builtins()
    if name in CASCADES:
        if params:
            raise ValueError(f"Cascade {name!r} takes a severity, not parameters")
        if severity is None:
            raise ValueError(
                f"Cascade {name!r} needs a severity 1..5 (every stage runs at that severity; 0 is clean)"
            )
        return cascade_at(name, severity)
    cls = get(name)
    if severity is not None:
        check_severity(name, severity)
        if severity == 0:
            if params:
                raise ValueError(f"Severity 0 of {name} is the clean identity; it takes no parameters")
            return Clean()
        return cls.at(severity, table=table, **(params or {}))
    if table is not None:
        raise ValueError(f"A severity table ({table!r}) needs a severity for {name}")
    return cls(**(params or {}))


def corrupt(
    audio: AudioT,
    sample_rate: int,
    name: str,
    *,
    severity: int | None = None,
    params: dict[str, Any] | None = None,
    seed: SeedArg = 0,
    table: str | None = None,
) -> AudioT:
    """Corrupt ``audio`` with the corruption or cascade ``name``: ``create(...)`` then call the node.

    ``audio`` is a numpy array or torch tensor shaped ``[T]``, ``[C, T]`` or
    ``[B, C, T]``; the result has the same type, shape and dtype. ``seed``
    follows ``Node.__call__`` (a single clip reproduces the sweep's pair seed).

    >>> import numpy as np
    >>> x = np.sin(np.arange(8000, dtype=np.float32) / 10)
    >>> y = corrupt(x, 16000, "gaussian_noise", severity=3, seed=1)
    >>> y.shape, y.dtype, bool((corrupt(x, 16000, "gaussian_noise", severity=3, seed=1) == y).all())
    ((8000,), dtype('float32'), True)
    """
    node = create(name, severity=severity, params=params, table=table)
    return node(audio, sample_rate, seed=seed)


def from_dict(data: dict[str, Any]) -> Node:
    """Rebuild any node from its ``to_dict`` form.

    >>> node = create("gaussian_noise", severity=2)
    >>> from_dict(node.to_dict()) == node
    True
    """
    kind = data.get("type")
    if kind == "corruption":
        if data["name"] == "clean":
            return Clean()
        cls = get(data["name"])
        inst = cls(**{k: sampler_from_dict(v) for k, v in data.get("params", {}).items()})
        if data.get("severity") is not None:
            inst.severity = int(data["severity"])
            inst.table = data.get("table")
        return inst
    if kind == "chain":
        return Chain(*[from_dict(n) for n in data["nodes"]])
    if kind == "cascade":
        return Cascade(data["name"], *[from_dict(n) for n in data["nodes"]], severity=data.get("severity"))
    if kind == "one_of":
        return OneOf([from_dict(n) for n in data["nodes"]], weights=data.get("weights"))
    if kind == "maybe":
        return Maybe(data["p"], from_dict(data["node"]))
    raise ValueError(f"Unknown node type {kind!r}; expected corruption, chain, cascade, one_of or maybe")
