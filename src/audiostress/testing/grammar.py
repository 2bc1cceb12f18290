"""The gate grammar: ``METRIC[CELLS] OP VALUE``, one gate per string (standard library only).

- ``METRIC``: a per-cell key of metrics.json (``eer``, ``delta_eer``, ``flip_rate``, ...)
  or a sweep-level key written ``block.key`` (``codec_pair.mean``, ``codec_pair.max``)
  or one of the short names in :data:`SWEEP_ALIASES` (``mce``).
- ``CELLS``: a glob over cell ids (``mp3@*``, ``clean``, ``*``); optional for a
  per-cell metric (default ``*``: the clean block and every cell that has the
  metric); not allowed on a sweep-level key.
- ``OP``: ``<``, ``<=``, ``>``, ``>=``.
- ``VALUE``: a number, ``baseline``, ``baseline + X``, ``baseline - X``, ``baseline ± X``
  (``+-`` and ``+/-`` too) or the same with ``X%`` (relative to the baseline value).
  ``±`` is the tolerance on the side the operator allows: ``+X`` for ``<``/``<=``,
  ``-X`` for ``>``/``>=``.

>>> g = parse_gate("delta_eer[mp3@*] <= 0.05")
>>> (g.metric, g.cells, g.op, g.value, g.uses_baseline)
('delta_eer', 'mp3@*', '<=', 0.05, False)
>>> g = parse_gate("tpr_at_threshold[clean] >= baseline ± 5%")
>>> (g.offset, g.relative)
(-5.0, True)
>>> parse_gate("codec_pair.mean <= 0.15").sweep_level
True
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OPS", "SWEEP_ALIASES", "Gate", "GateError", "parse_gate"]

#: The comparison operators a gate may use.
OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}

#: Short sweep-level names and the metrics.json key they stand for.
SWEEP_ALIASES: dict[str, str] = {
    "mce": "corruption_error_reference.mce",
    "relative_mce": "corruption_error_reference.relative_mce",
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_GATE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*(?:\[(?P<cells>[^\]]*)\])?\s*(?P<op><=|>=|<|>)\s*(?P<value>.*?)\s*$"
)
_BASELINE = re.compile(rf"^baseline(?:\s*(?P<sign>\+/-|\+-|±|\+|-)\s*(?P<x>{_NUMBER})\s*(?P<pct>%)?)?$")
_GRAMMAR = "METRIC[CELLS] OP VALUE, e.g. 'delta_eer[mp3@*] <= 0.05', 'codec_pair.mean <= 0.15', 'eer[clean] <= baseline + 0.01'"


class GateError(ValueError):
    """A gate cannot be used as written (malformed, unknown metric, bad option): a usage error."""


@dataclass(frozen=True)
class Gate:
    """One parsed gate. ``value`` is the number of an absolute gate; a baseline gate has ``value=None``
    and compares against the baseline's value plus ``offset`` (a fraction of it when ``relative``)."""

    text: str
    metric: str
    cells: str | None
    op: str
    value: float | None = None
    offset: float = 0.0
    relative: bool = False

    @property
    def uses_baseline(self) -> bool:
        return self.value is None

    @property
    def sweep_level(self) -> bool:
        """True for a key of a sweep-level block (``codec_pair.mean``) rather than of each cell."""
        return "." in self.metric or self.metric in SWEEP_ALIASES

    @property
    def key(self) -> str:
        """The metrics.json key the metric reads (aliases resolved)."""
        return SWEEP_ALIASES.get(self.metric, self.metric)

    def holds(self, observed: float, bound: float) -> bool:
        return OPS[self.op](observed, bound)

    def __str__(self) -> str:
        return self.text


def parse_gate(text: str) -> Gate:
    """Parse one gate string; raises :class:`GateError` naming what is wrong and the grammar."""
    if isinstance(text, Gate):
        return text
    if not isinstance(text, str):
        raise GateError(f"Expected a gate string ({_GRAMMAR}), got {type(text).__name__} {text!r}")
    match = _GATE.match(text)
    if match is None:
        raise GateError(f"Malformed gate {text!r}: expected {_GRAMMAR}")
    metric, cells, op, value_text = match["metric"], match["cells"], match["op"], match["value"]
    gate_text = " ".join(text.split())
    if cells is not None:
        cells = cells.strip()
        if not cells:
            raise GateError(f"Malformed gate {text!r}: empty cell selection []; use a cell id or glob such as 'mp3@*' or '*'")
    sweep_level = "." in metric or metric in SWEEP_ALIASES
    if sweep_level and cells is not None:
        raise GateError(f"Gate {text!r}: {metric} is a sweep-level key and takes no [CELLS]; write '{metric} {op} {value_text}'")
    if re.fullmatch(_NUMBER, value_text):
        number = float(value_text)
        if not math.isfinite(number):
            raise GateError(f"Gate {text!r}: the value must be a finite number, got {value_text}")
        return Gate(gate_text, metric, cells, op, value=number)
    base = _BASELINE.match(value_text)
    if base is None:
        raise GateError(f"Malformed gate {text!r}: VALUE {value_text!r} is neither a number nor 'baseline [+|-|±] X[%]'")
    offset = 0.0
    if base["x"] is not None:
        x = float(base["x"])
        sign = base["sign"]
        if sign in ("±", "+-", "+/-"):
            offset = abs(x) if op in ("<", "<=") else -abs(x)
        else:
            offset = x if sign == "+" else -x
    return Gate(gate_text, metric, cells, op, value=None, offset=offset, relative=base["pct"] is not None)
