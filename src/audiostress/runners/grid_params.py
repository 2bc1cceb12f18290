"""Grid-wide parameter overrides: ``load_grid(spec, params={...})``, the CLI's ``sweep --param K=V``.

An override is a setting of the whole sweep, not a new cell. It applies to every
cell whose corruption declares the parameter (for a cascade: every stage that
declares it), is recorded in each affected cell's node (so it is part of the
sweep identity and of the store), and leaves cell ids, series and severities as
they are. Typical uses are inputs and settings a preset cannot know:
``noise_dir`` for ``background_noise``, ``rir_dir`` for ``reverb``,
``weights_path`` for EnCodec, ``zero_phase`` for the filters.

Two overrides are refused, because the cell id would then no longer say what
was scored:

- a key no cell of the grid declares (a typo, or the wrong grid): the error
  names the key and the grid's corruptions;
- a key that a cell's severity table varies (``snr_db`` of ``gaussian_noise@3``)
  or that the cell sets itself in its ``params``: write a grid cell with those
  params instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..corruptions import CASCADES, create, get, load_builtins
from ..corruptions.base import Node
from ..corruptions.graph import Cascade

__all__ = ["check_overrides", "declared_params", "node_with_overrides", "stage_overrides", "varying_params"]


def varying_params(name: str, table: str | None) -> list[str]:
    """Parameters whose value changes across the 5 levels of ``name``'s table (main table for None)."""
    cls = get(name)
    if cls.levels is None and table is None:
        return []
    levels = cls.severity_table(table).levels
    keys = list(dict.fromkeys(k for level in levels for k in level))
    return [k for k in keys if len({repr(level.get(k)) for level in levels}) > 1]


def _stages(name: str, table: str | None) -> list[tuple[str, str | None]]:
    """``[(corruption, table)]``: the stages of a cascade, or the corruption itself."""
    load_builtins()
    if name in CASCADES:
        spec = CASCADES[name]
        return list(zip(spec.stages, spec.tables()))
    return [(name, table)]


def declared_params(name: str) -> set[str]:
    """The parameter names a corruption declares (for a cascade: any of its stages)."""
    return {p.name for stage, _ in _stages(name, None) for p in get(stage).params}


def check_overrides(params: Mapping[str, Any], corruptions: Iterable[str]) -> dict[str, Any]:
    """``params`` as a dict; raises ``ValueError`` for a key that no corruption in ``corruptions`` declares."""
    names = sorted({c for c in corruptions if c != "clean"})
    declared = set().union(*(declared_params(n) for n in names)) if names else set()
    for key in params:
        if key not in declared:
            raise ValueError(
                f"--param {key}: no corruption in this grid declares `{key}`; the grid's corruptions are "
                f"{', '.join(names) or 'none'} (`audiostress list` shows their parameters)"
            )
    return dict(params)


def stage_overrides(
    name: str, severity: int | None, params: Mapping[str, Any], table: str | None, overrides: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Per stage (one entry for a plain corruption), the overrides that stage declares.

    Raises ``ValueError`` when an override would change what the cell id says: a
    parameter the stage's severity table varies, or one the cell sets in ``params``.
    """
    out = []
    for stage, stage_table in _stages(name, table):
        mine = {k: v for k, v in overrides.items() if k in {p.name for p in get(stage).params}}
        varied = set(varying_params(stage, stage_table)) if severity is not None else set()
        for key in mine:
            if key in varied or key in params:
                what = "its severity table varies" if key in varied else "the cell sets it in its params"
                raise ValueError(
                    f"--param {key}: {what} for {stage} (cell {name}"
                    f"{'' if severity is None else f'@{severity}'}), so the cell id would no longer say what was "
                    f"scored; write a grid cell with `params: {{{key}: ...}}` instead"
                )
        out.append(mine)
    return out


def node_with_overrides(
    name: str, severity: int | None, params: Mapping[str, Any], table: str | None, overrides: Mapping[str, Any]
) -> Node:
    """The cell's node with the overrides its corruption (or its cascade's stages) declares."""
    per_stage = stage_overrides(name, severity, params, table, overrides)
    if name not in CASCADES:
        return create(name, severity=severity, params={**params, **per_stage[0]} or None, table=table)
    if not any(per_stage):
        return create(name, severity=severity, params=dict(params) or None, table=table)
    if severity is None:
        raise ValueError(f"Cascade {name!r} needs a severity 1..5 (every stage runs at that severity; 0 is clean)")
    nodes = [
        create(stage, severity=severity, params=extra or None, table=stage_table)
        for (stage, stage_table), extra in zip(_stages(name, None), per_stage)
    ]
    return Cascade(name, *nodes, severity=severity)
