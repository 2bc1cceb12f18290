"""Parameter declarations, samplers and named severity tables.

A parameter value is either fixed (sweeps) or a sampler (augmentation):
``Uniform(low, high)`` or ``Choice(values)``. Samplers draw only from the
``torch.Generator`` they are handed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

Scalar = float | int | bool | str | None


def draw_unit(generator: torch.Generator) -> float:
    """One float64 draw from ``[0, 1)`` out of ``generator`` (every uniform draw goes through here)."""
    return float(torch.rand((), generator=generator, dtype=torch.float64))


def exactly_one(owner: str, given: Mapping[str, Any], groups: Sequence[Sequence[str]]) -> None:
    """Raise unless exactly one group of names in ``groups`` is fully set (the others all None).

    >>> exactly_one("clipping", {"percentile": None, "threshold": 0.5}, (("percentile",), ("threshold",)))
    """
    set_groups = [g for g in groups if any(given.get(n) is not None for n in g)]
    options = " or ".join("+".join(f"`{n}`" for n in g) for g in groups)
    if len(set_groups) != 1:
        names = [n for g in groups for n in g if given.get(n) is not None]
        raise ValueError(f"Expected exactly one of {options} for {owner}, got {', '.join(names) or 'neither'}")
    missing = [n for n in set_groups[0] if given.get(n) is None]
    if missing:
        partners = ", ".join(f"`{n}`" for n in set_groups[0] if n not in missing)
        raise ValueError(f"Expected `{missing[0]}` for {owner} together with {partners}, got None")


@dataclass(frozen=True)
class Uniform:
    """Draw uniformly from ``[low, high]`` (rounded for integer parameters)."""

    low: float
    high: float

    def draw(self, generator: torch.Generator) -> float:
        return self.low + (self.high - self.low) * draw_unit(generator)

    def to_dict(self) -> dict[str, list[float]]:
        return {"uniform": [self.low, self.high]}


@dataclass(frozen=True)
class Choice:
    """Draw one of ``values`` with equal probability."""

    values: tuple[Scalar, ...]

    def draw(self, generator: torch.Generator) -> Scalar:
        i = int(torch.randint(len(self.values), (1,), generator=generator))
        return self.values[i]

    def to_dict(self) -> dict[str, list[Scalar]]:
        return {"choice": list(self.values)}


Sampler = Uniform | Choice
ParamValue = Scalar | Sampler


def sampler_from_dict(value: Any) -> ParamValue:
    """Inverse of ``Uniform.to_dict`` / ``Choice.to_dict``; scalars pass through."""
    if isinstance(value, Mapping):
        if set(value) == {"uniform"}:
            low, high = value["uniform"]
            return Uniform(float(low), float(high))
        if set(value) == {"choice"}:
            return Choice(tuple(value["choice"]))
        raise ValueError(f"Unknown parameter sampler {dict(value)!r}; use {{'uniform': [lo, hi]}} or {{'choice': [...]}}")
    return value


@dataclass(frozen=True)
class Param:
    """Declares one corruption parameter: its type, allowed range and unit.

    ``low``/``high`` are inclusive bounds; ``choices`` restricts to a set.
    ``optional`` allows ``None`` (e.g. ``cutoff_hz`` when a fraction is given).
    """

    name: str
    default: Scalar
    kind: type = float
    low: float | None = None
    high: float | None = None
    choices: tuple[Scalar, ...] | None = None
    unit: str = ""
    help: str = ""
    optional: bool = False

    def allowed(self) -> str:
        """Human-readable allowed range, used in error messages and `list`."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind is bool:
            text = "true or false"
        elif self.low is not None and self.high is not None:
            text = f"{_fmt(self.low)}..{_fmt(self.high)}"
        elif self.low is not None:
            text = f">= {_fmt(self.low)}"
        elif self.high is not None:
            text = f"<= {_fmt(self.high)}"
        else:
            text = f"any {self.kind.__name__}"
        return text + (" or null" if self.optional else "")

    def validate(self, owner: str, value: Any) -> ParamValue:
        """Coerce and check a fixed value, a sampler or its text form; raise ``ValueError`` naming everything."""
        if isinstance(value, str):
            value = self.parse_text(value)
        if isinstance(value, Uniform):
            if self.kind not in (float, int):
                raise ValueError(f"`{self.name}` of {owner} is not numeric; a uniform range is not allowed")
            lo, hi = self.validate(owner, value.low), self.validate(owner, value.high)
            if lo > hi:  # type: ignore[operator]
                raise ValueError(f"Expected low <= high for `{self.name}` range of {owner}, got {value.low}..{value.high}")
            return Uniform(float(lo), float(hi))  # type: ignore[arg-type]
        if isinstance(value, Choice):
            if not value.values:
                raise ValueError(f"Empty choice for `{self.name}` of {owner}")
            return Choice(tuple(self.validate(owner, v) for v in value.values))  # type: ignore[misc]
        return self.coerce(owner, value)

    def parse_text(self, text: str) -> ParamValue:
        """Read the CLI's syntax (``parse_cli_value``) for this parameter, leaving free text alone.

        Numeric and boolean parameters accept ``"5..20"`` (uniform) and ``"5|10"``
        (choice). A text parameter is split on ``|`` only when it declares
        ``choices`` and every piece is one of them, so a path such as
        ``"../noise"`` or ``"a|b.wav"`` stays as given.

        >>> Param("snr_db", 10.0).parse_text("5..20")
        Uniform(low=5.0, high=20.0)
        >>> Param("color", "pink", str, choices=("pink", "brown")).parse_text("pink|brown")
        Choice(values=('pink', 'brown'))
        >>> Param("noise_dir", None, str, optional=True).parse_text("../noise|x")
        '../noise|x'
        """
        if self.kind in (int, float, bool):
            return parse_cli_value(text)
        if self.choices is not None and "|" in text:
            pieces = tuple(piece.strip() for piece in text.split("|"))
            if all(piece in self.choices for piece in pieces):
                return Choice(pieces)
        return text

    def coerce(self, owner: str, value: Any) -> Scalar:
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"Expected `{self.name}` in {self.allowed()} for {owner}, got None")
        try:
            coerced = _coerce(self.kind, value)
        except (TypeError, ValueError):
            raise ValueError(
                f"Expected `{self.name}` in {self.allowed()} for {owner}, got {value!r}"
            ) from None
        bad = False
        if self.choices is not None:
            bad = coerced not in self.choices
        elif isinstance(coerced, (int, float)) and not isinstance(coerced, bool):
            if isinstance(coerced, float) and not math.isfinite(coerced):
                bad = True
            bad = bad or (self.low is not None and coerced < self.low)
            bad = bad or (self.high is not None and coerced > self.high)
        if bad:
            raise ValueError(f"Expected `{self.name}` in {self.allowed()} for {owner}, got {value!r}")
        return coerced

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "unit": self.unit,
            "allowed": self.allowed(),
            "help": self.help,
        }


def _fmt(x: float) -> str:
    """Plain decimal for range bounds: 16777216 stays 16777216, 0.1 stays 0.1."""
    return f"{x:.10g}"


def _coerce(kind: type, value: Any) -> Scalar:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
            return value.lower() in {"true", "1", "yes", "on"}
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool):
            raise ValueError(value)
        f = float(value)
        if not f.is_integer():
            raise ValueError(value)
        return int(f)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    raise TypeError(f"Unsupported parameter kind {kind!r}")


@dataclass(frozen=True)
class SeverityTable:
    """A named table of exactly five severity levels (1 = mildest .. 5 = harshest).

    ``source`` says where the values come from, e.g. a paper and its table.
    """

    name: str
    source: str
    levels: tuple[Mapping[str, Scalar], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if len(self.levels) != 5:
            raise ValueError(f"Severity table {self.name!r} must have 5 levels, got {len(self.levels)}")
        object.__setattr__(self, "levels", tuple(dict(level) for level in self.levels))

    def level(self, severity: int) -> dict[str, Scalar]:
        return dict(self.levels[severity - 1])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "levels": [dict(lv) for lv in self.levels]}


def parse_cli_value(text: str) -> ParamValue:
    """Parse a ``--param`` value: ``10``, ``true``, ``pink``, ``10..20`` (uniform), ``a|b`` (choice)."""
    if "|" in text:
        return Choice(tuple(_scalar(part) for part in text.split("|")))
    if ".." in text:
        low, _, high = text.partition("..")
        try:
            return Uniform(float(low), float(high))
        except ValueError:
            pass
    return _scalar(text)


def _scalar(text: str) -> Scalar:
    lowered = text.strip().lower()
    if lowered in {"none", "null"}:
        return None
    if lowered in {"true", "false"}:
        return lowered == "true"
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "." not in text and "e" not in lowered else number

