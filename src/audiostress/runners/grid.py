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

Besides its id, every cell carries what the metrics and the report need so that
neither has to parse ids or ask the corruption registry:

- ``severity``: 1..5, 0 for clean, ``None`` for a cell given by explicit parameters;
- ``table``: the severity table its level comes from (``li2025``, ``asvspoof5_nb``),
  ``None`` for explicit parameters, cascades (each stage uses its own table) and clean;
- ``series``: the curve it belongs to, its id without the ``@severity``: ``mp3`` for
  ``mp3@3``, ``opus[asvspoof5_nb]`` for ``opus[asvspoof5_nb]@2``. A cell given by
  explicit parameters, or a severity with overrides, is a series of its own (its id):
  it is not a point of the table's curve;
- ``axis``: the parameter its severity table varies (the first whose value changes
  over the 5 levels; for a cascade the first such parameter of the first stage that
  has one, written ``stage.param``), that parameter's unit and this cell's value of it;
- ``family``: the corruption family; a cascade takes ``neural_codec`` when a stage is a
  neural codec, else its stages' common family (``codec`` for codec chains).

An entry with ``optional: true`` (used by presets for cells that need something
the user may not have, e.g. ``background_noise`` without a noise folder) is
dropped with a note when it cannot be built; any other build failure is an error.

``load_grid(spec, params={...})`` (the CLI's ``sweep --param K=V``) applies each
override to every cell whose corruption declares it, keeping the cell ids; see
``grid_params.py`` for the rule and the overrides it refuses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..corruptions import CASCADES, Clean, available, get, load_builtins
from ..corruptions.base import Node
from .grid_params import check_overrides, node_with_overrides, varying_params

#: Presets shipped as YAML under ``audiostress/presets``; ``full`` is built from the registry.
PRESETS = ("quick", "paper", "codecs", "asvspoof5", "full")
_ENTRY_KEYS = {"corruption", "severity", "severities", "params", "table", "optional"}
_GRID_KEYS = {"cells", "codec_pair", "notes", "description", "name"}


@dataclass(frozen=True)
class Axis:
    """What a cell's severity means physically: ``bitrate_kbps`` in ``kbps`` = ``24.0``.

    ``param`` is ``None`` (and so are ``unit`` and ``value``) when nothing varies,
    e.g. for the clean cell.
    """

    param: str | None
    unit: str | None
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "unit": self.unit, "value": self.value}


#: The axis of a cell with no varying parameter (the clean cell).
NO_AXIS = Axis(None, None, None)


@dataclass(frozen=True)
class Cell:
    """One grid cell: a configured corruption node, its stable id and its place in the report.

    ``severity`` is ``None`` for a cell given by explicit parameters; ``series``
    defaults to the cell id (a series of its own). See the module docstring.
    """

    cell_id: str
    corruption: str
    severity: int | None
    params: dict[str, Any]
    table: str | None
    node: Node
    family: str
    series: str | None = None
    axis: Axis = NO_AXIS

    def __post_init__(self) -> None:
        if self.series is None:
            object.__setattr__(self, "series", self.cell_id)

    def to_dict(self) -> dict[str, Any]:
        """The cell as stored in the store and handed to the metrics (``node`` as its dict)."""
        return {
            "cell_id": self.cell_id,
            "corruption": self.corruption,
            "severity": self.severity,
            "params": dict(self.params),
            "table": self.table,
            "family": self.family,
            "series": self.series,
            "axis": self.axis.to_dict(),
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
    return Cell("clean", "clean", 0, {}, None, Clean(), "clean", "clean", NO_AXIS)


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
    """The corruption family; a cascade's comes from its stages (see the module docstring)."""
    load_builtins()  # CASCADES is filled by the builtins
    if name not in CASCADES:
        return get(name).family
    stages = {get(stage).family for stage in CASCADES[name].stages}
    if "neural_codec" in stages:
        return "neural_codec"
    return stages.pop() if len(stages) == 1 else "graph"


def _unit(name: str, param: str) -> str:
    return next((p.unit for p in get(name).params if p.name == param), "")


def _axis(name: str, table: str | None, explicit: Mapping[str, Any] | None, effective: Mapping[str, Any]) -> Axis:
    """The parameter a cell's severity varies, with its unit and the cell's value of it.

    ``explicit``: the parameters of a cell given without a severity; its axis is the
    table's varying parameter when given, else the first given (by name).
    """
    if name in CASCADES:
        spec = CASCADES[name]
        for stage, stage_table in zip(spec.stages, spec.stage_tables or (None,) * len(spec.stages)):
            varying = varying_params(stage, stage_table)
            if varying:
                value = (effective.get(stage) or {}).get(varying[0])
                return Axis(f"{stage}.{varying[0]}", _unit(stage, varying[0]), value)
        return NO_AXIS
    varying = varying_params(name, table)
    if explicit:
        varying = [k for k in varying if k in explicit] or sorted(explicit)
    if not varying:
        return NO_AXIS
    return Axis(varying[0], _unit(name, varying[0]), effective.get(varying[0]))


def make_cell(
    name: str,
    severity: int | None = None,
    params: Mapping[str, Any] | None = None,
    table: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Cell:
    """Build one cell; raises ``ValueError`` naming the corruption and value when it cannot be built.

    ``overrides`` are grid-wide parameters (``load_grid(..., params=)``): those the
    corruption declares go into the node, not into the cell id.
    """
    load_builtins()  # CASCADES is filled by the builtins
    params = dict(params or {})
    if severity == 0:
        raise ValueError(f"Severity 0 of {name} is the clean cell, which every grid already includes")
    if severity is None and not params:
        raise ValueError(f"Cell for {name} needs a severity or params")
    if table is not None and name in CASCADES:
        raise ValueError(f"Cascade {name!r} has no named tables; got table {table!r}")
    main = None if name in CASCADES else get(name).levels
    # The main table's name is left out of the id so `mp3@3` stays `mp3@3`.
    if table is not None and main is not None and table == main.name:
        table = None
    node = node_with_overrides(name, severity, params, table, overrides or {})
    cell_id = cell_id_for(name, severity, params, table)
    used_table = None
    if severity is not None and name not in CASCADES:
        used_table = table if table is not None else (main.name if main is not None else None)
    return Cell(
        cell_id,
        name,
        int(severity) if severity is not None else None,
        params,
        used_table,
        node,
        family_of(name),
        cell_id_for(name, None, {}, table) if severity is not None and not params else cell_id,
        _axis(name, table, params if severity is None else None, _effective_params(node.to_dict(), params)),
    )


def _entry_cells(entry: Any, where: str, overrides: Mapping[str, Any]) -> list[Cell]:
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
    return [make_cell(name, s, params, table, overrides) for s in sevs]


def grid_from_dict(data: Any, name: str, params: Mapping[str, Any] | None = None) -> Grid:
    """Build a grid from parsed YAML (``{cells: [...], codec_pair: [...], notes: [...]}``).

    ``params`` are grid-wide overrides (see ``load_grid``).
    """
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
    overrides = check_overrides(params or {}, [str(e.get("corruption")) for e in entries if isinstance(e, Mapping)])
    for i, entry in enumerate(entries, start=1):
        where = f"grid {name} cell {i}"
        try:
            built = _entry_cells(entry, where, overrides)
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


def full_grid(params: Mapping[str, Any] | None = None) -> Grid:
    """Every registered corruption and cascade at every level (clean first); ``params`` as in ``load_grid``."""
    cells = [clean_cell()]
    notes: list[str] = []
    overrides = check_overrides(params or {}, available())
    for name in available():
        if name == "clean":
            continue
        for s in range(1, 6):
            try:
                cells.append(make_cell(name, s, overrides=overrides))
            except ValueError as exc:
                notes.append(f"{name}@{s} left out: {exc}")
    return Grid(cells, "full", None, notes)


def preset_text(name: str) -> str:
    """The YAML text of a shipped preset."""
    return resources.files("audiostress.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_grid(spec: str | os.PathLike[str] | Grid, params: Mapping[str, Any] | None = None) -> Grid:
    """A grid from a preset name (``quick``, ``paper``, ``codecs``, ``asvspoof5``, ``full``) or a YAML path.

    ``params`` (``{"noise_dir": "/data/noise"}``; the CLI's ``sweep --param K=V``)
    override a parameter in every cell whose corruption (or cascade stage) declares
    it; cell ids stay as they are and the node records the value. A key that no
    cell declares, or one a cell's severity table varies, is a ``ValueError``.
    Raises ``ValueError`` naming the offending key or value and the choices.
    """
    if isinstance(spec, Grid):
        return _overridden(spec, params) if params else spec
    text = str(spec)
    if text == "full":
        return full_grid(params)
    if text in PRESETS:
        return grid_from_dict(yaml.safe_load(preset_text(text)), text, params)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ValueError(f"Grid file {text} not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"Grid file {text} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        return grid_from_dict(data, path.stem, params)
    raise ValueError(f"Unknown grid {text!r}; choose a preset ({', '.join(PRESETS)}) or a path to a .yaml grid file")


def _overridden(grid: Grid, params: Mapping[str, Any]) -> Grid:
    """An already built grid with ``params`` applied (its cells rebuilt from their name, severity and table)."""
    overrides = check_overrides(params, [c.corruption for c in grid.cells])
    cells = [c if c.cell_id == "clean" else make_cell(c.corruption, c.severity, c.params, c.table, overrides)
             for c in grid.cells]  # fmt: skip
    return Grid(cells, grid.name, grid.codec_pair, list(grid.notes))


def cells_for_metrics(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``cells`` argument of ``build_metrics`` from ``Cell.to_dict`` dicts: id, corruption,
    severity, family, table, series, axis and the effective parameters read from the node.

    Dicts without ``table``/``series``/``axis`` (cells stored before they existed) get
    ``None``, the cell id and an empty axis."""
    return [
        {"cell_id": c["cell_id"], "corruption": c["corruption"], "severity": c["severity"],
         "params": _effective_params(c["node"], c.get("params", {})), "family": c["family"],
         "table": c.get("table"), "series": c.get("series") or c["cell_id"],
         "axis": dict(c.get("axis") or NO_AXIS.to_dict())}
        for c in cells
    ]  # fmt: skip


def _effective_params(node: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    if node.get("type") == "corruption":
        return dict(node.get("params", {}))
    if node.get("type") == "cascade":
        return {n["name"]: n.get("params", {}) for n in node["nodes"] if n.get("type") == "corruption"}
    return dict(requested)
