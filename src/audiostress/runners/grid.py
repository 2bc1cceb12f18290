"""Severity grids: the list of cells a sweep scores every clip under.

A cell is one corruption (or cascade) at one severity, or with one explicit
parameter set. Every grid starts with the clean cell (``cell_id`` ``clean``).
Grids come from a preset shipped with the package (``quick``, ``paper``,
``codecs``, ``asvspoof5``, ``full``) or from a YAML file::

    cells:
      - {corruption: low_pass, severity: 5}
      - {corruption: mp3, params: {bitrate_kbps: 32}}
      - {corruption: gain, severities: [1, 3, 5]}
      - {corruption: opus, table: asvspoof5_nb, severities: [1, 5]}
      - {corruption: smooth}                 # neither severity nor params: levels 1..5
    codec_pair: [clean, "mp3{bitrate_kbps=128}"]   # optional, cells for the codec-pair drift
    notes: ["free text printed before the sweep"]  # optional

Cell ids are stable and readable:

- ``mp3@3`` severity 3 of the corruption's main table;
- ``opus[asvspoof5_nb]@2`` severity 2 of a named, non-default table;
- ``mp3{bitrate_kbps=24}`` explicit parameters (sorted by name);
- ``mp3@3{bitrate_kbps=24}`` a severity with parameter overrides.

An entry with ``optional: true`` (used by presets for cells that need something
the user may not have, e.g. ``background_noise`` without a noise folder) is
dropped with a note when it cannot be built; any other build failure is an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..corruptions import CASCADES, Clean, available, create, get
from ..corruptions.base import Node

#: Presets shipped as YAML under ``audiostress/presets``; ``full`` is built from the registry.
PRESETS = ("quick", "paper", "codecs", "asvspoof5", "full")
_ENTRY_KEYS = {"corruption", "severity", "severities", "params", "table", "optional"}
_GRID_KEYS = {"cells", "codec_pair", "notes", "description", "name"}


@dataclass(frozen=True)
class Cell:
    """One grid cell: a configured corruption node and its stable id."""

    cell_id: str
    corruption: str
    severity: int
    params: dict[str, Any]
    table: str | None
    node: Node
    family: str

    def to_dict(self) -> dict[str, Any]:
        """The cell as stored in the store and handed to the metrics (``node`` as its dict)."""
        return {
            "cell_id": self.cell_id,
            "corruption": self.corruption,
            "severity": self.severity,
            "params": dict(self.params),
            "table": self.table,
            "family": self.family,
            "node": self.node.to_dict(),
        }


@dataclass
class Grid:
    """An ordered list of cells (clean first), a name and optional codec-pair cells."""

    cells: list[Cell]
    name: str
    codec_pair: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The grid's identity: name, cells (with exact node dicts) and codec-pair cells."""
        return {
            "name": self.name,
            "cells": [c.to_dict() for c in self.cells],
            "codec_pair": list(self.codec_pair) if self.codec_pair else None,
        }

    def cell(self, cell_id: str) -> Cell:
        for c in self.cells:
            if c.cell_id == cell_id:
                return c
        raise KeyError(cell_id)

    def __len__(self) -> int:
        return len(self.cells)


def clean_cell() -> Cell:
    """The clean identity cell every grid starts with."""
    return Cell("clean", "clean", 0, {}, None, Clean(), "clean")


def format_value(value: Any) -> str:
    """A parameter value as written in a cell id: ``24``, ``0.5``, ``true``, ``pink``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "null"
    return str(value)


def cell_id_for(name: str, severity: int | None, params: Mapping[str, Any], table: str | None) -> str:
    """The stable readable id of a cell (see the module docstring)."""
    text = name
    if table is not None:
        text += f"[{table}]"
    if severity is not None:
        text += f"@{severity}"
    if params:
        text += "{" + ",".join(f"{k}={format_value(params[k])}" for k in sorted(params)) + "}"
    return text


def family_of(name: str) -> str:
    """The corruption family (``graph`` for cascades)."""
    return "graph" if name in CASCADES else get(name).family


def make_cell(
    name: str, severity: int | None = None, params: Mapping[str, Any] | None = None, table: str | None = None
) -> Cell:
    """Build one cell; raises ``ValueError`` naming the corruption and value when it cannot be built."""
    params = dict(params or {})
    if severity == 0:
        raise ValueError(f"Severity 0 of {name} is the clean cell, which every grid already includes")
    if severity is None and not params:
        raise ValueError(f"Cell for {name} needs a severity or params")
    if table is not None and name in CASCADES:
        raise ValueError(f"Cascade {name!r} has no named tables; got table {table!r}")
    # The main table's name is left out of the id so `mp3@3` stays `mp3@3`.
    if table is not None and table == (get(name).levels.name if get(name).levels else None):
        table = None
    node = create(name, severity=severity, params=params or None, table=table)
    return Cell(
        cell_id_for(name, severity, params, table),
        name,
        int(severity) if severity is not None else 0,
        params,
        table,
        node,
        family_of(name),
    )


def _entry_cells(entry: Any, where: str) -> list[Cell]:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a mapping like {{corruption: mp3, severity: 3}}, got {entry!r}")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_ENTRY_KEYS))}")
    name = entry.get("corruption")
    if not isinstance(name, str):
        raise ValueError(f"{where}: `corruption` must name a corruption, got {name!r}; choose one of: {', '.join(available())}")
    if "severity" in entry and "severities" in entry:
        raise ValueError(f"{where}: give `severity` or `severities`, not both")
    params = entry.get("params") or {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{where}: `params` must be a mapping of parameter: value, got {params!r}")
    table = entry.get("table")
    if "severities" in entry:
        sevs = entry["severities"]
        if not isinstance(sevs, list) or not sevs:
            raise ValueError(f"{where}: `severities` must be a non-empty list like [1, 3, 5], got {sevs!r}")
    elif "severity" in entry:
        sevs = [entry["severity"]]
    else:
        sevs = [None] if params else [1, 2, 3, 4, 5]
    for s in sevs:
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5):
            raise ValueError(f"{where}: expected severity in 1..5 for {name}, got {s!r} (0 is the clean cell)")
    return [make_cell(name, s, params, table) for s in sevs]


def grid_from_dict(data: Any, name: str) -> Grid:
    """Build a grid from parsed YAML (``{cells: [...], codec_pair: [...], notes: [...]}``)."""
    if not isinstance(data, Mapping) or "cells" not in data:
        raise ValueError(f"Grid {name}: expected a mapping with a `cells` list, got {type(data).__name__}")
    unknown = sorted(set(data) - _GRID_KEYS)
    if unknown:
        raise ValueError(f"Grid {name}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_GRID_KEYS))}")
    entries = data["cells"]
    if not isinstance(entries, list):
        raise ValueError(f"Grid {name}: `cells` must be a list, got {type(entries).__name__}")
    cells = [clean_cell()]
    notes = [str(n) for n in (data.get("notes") or [])]
    for i, entry in enumerate(entries, start=1):
        where = f"grid {name} cell {i}"
        try:
            built = _entry_cells(entry, where)
        except ValueError as exc:
            if isinstance(entry, Mapping) and entry.get("optional"):
                notes.append(f"{entry.get('corruption')} left out: {exc}")
                continue
            if str(exc).startswith(where):
                raise
            raise ValueError(f"{where}: {exc}") from exc
        for cell in built:
            if any(c.cell_id == cell.cell_id for c in cells):
                raise ValueError(f"Grid {name}: duplicate cell {cell.cell_id!r}")
            cells.append(cell)
    codec_pair = data.get("codec_pair")
    if codec_pair is not None:
        ids = {c.cell_id for c in cells}
        if not isinstance(codec_pair, list) or len(codec_pair) < 2:
            raise ValueError(f"Grid {name}: `codec_pair` must list at least two cell ids, got {codec_pair!r}")
        missing = [c for c in codec_pair if c not in ids]
        if missing:
            raise ValueError(f"Grid {name}: codec_pair cell {missing[0]!r} is not in the grid; cells: {', '.join(sorted(ids))}")
        codec_pair = [str(c) for c in codec_pair]
    return Grid(cells, str(data.get("name") or name), codec_pair, notes)


def full_grid() -> Grid:
    """Every registered corruption and cascade at every level (clean first)."""
    cells = [clean_cell()]
    notes: list[str] = []
    for name in available():
        if name == "clean":
            continue
        for s in range(1, 6):
            try:
                cells.append(make_cell(name, s))
            except ValueError as exc:
                notes.append(f"{name}@{s} left out: {exc}")
    return Grid(cells, "full", None, notes)


def preset_text(name: str) -> str:
    """The YAML text of a shipped preset."""
    return resources.files("audiostress.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_grid(spec: str | os.PathLike[str] | Grid) -> Grid:
    """A grid from a preset name (``quick``, ``paper``, ``codecs``, ``asvspoof5``, ``full``) or a YAML path.

    Raises ``ValueError`` naming the offending key or value and the choices.
    """
    if isinstance(spec, Grid):
        return spec
    text = str(spec)
    if text == "full":
        return full_grid()
    if text in PRESETS:
        return grid_from_dict(yaml.safe_load(preset_text(text)), text)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ValueError(f"Grid file {text} not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"Grid file {text} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        return grid_from_dict(data, path.stem)
    raise ValueError(f"Unknown grid {text!r}; choose a preset ({', '.join(PRESETS)}) or a path to a .yaml grid file")


def cells_for_metrics(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``cells`` argument of ``build_metrics`` from ``Cell.to_dict`` dicts (as the store keeps them):
    id, corruption, severity, family and the effective parameters read from the node."""
    return [
        {"cell_id": c["cell_id"], "corruption": c["corruption"], "severity": c["severity"],
         "params": _effective_params(c["node"], c.get("params", {})), "family": c["family"]}
        for c in cells
    ]  # fmt: skip


def _effective_params(node: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    if node.get("type") == "corruption":
        return dict(node.get("params", {}))
    if node.get("type") == "cascade":
        return {n["name"]: n.get("params", {}) for n in node["nodes"] if n.get("type") == "corruption"}
    return dict(requested)
