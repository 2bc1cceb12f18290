"""The registry of corruptions and named cascades, keyed by ``name``.

Built-in corruptions register themselves with ``@register`` when their module is
imported; ``load_builtins`` imports every module under
``audiostress.corruptions`` and ``audiostress.codecs`` once, so a new file is
picked up without editing a list.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Any

from .base import FAMILIES, PLACEMENTS, Clean, Corruption, Node, check_severity

_CORRUPTIONS: dict[str, type[Corruption]] = {}
_LOADED = False
_BUILTIN_PACKAGES = ("audiostress.corruptions", "audiostress.codecs")
_SKIP_MODULES = {"base", "graph", "params", "registry"}


def register(cls: type[Corruption]) -> type[Corruption]:
    """Class decorator: validate a corruption's declarations and add it to the registry."""
    name = cls.name
    if not name or not name.replace("_", "a").isalnum() or name.lower() != name:
        raise ValueError(f"Corruption name must be snake_case, got {name!r}")
    if name in _CORRUPTIONS and _CORRUPTIONS[name] is not cls:
        raise ValueError(f"Corruption {name!r} is already registered by {_CORRUPTIONS[name].__module__}")
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
    """Import every built-in corruption module once (idempotent)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    _CORRUPTIONS.setdefault("clean", Clean)
    for package_name in _BUILTIN_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.name in _SKIP_MODULES or info.ispkg:
                continue
            importlib.import_module(f"{package_name}.{info.name}")


def available(family: str | None = None) -> list[str]:
    """Registered corruption names (cascades included), sorted; optionally one family."""
    load_builtins()
    from .graph import CASCADES

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

    >>> create("gaussian_noise", severity=3).to_dict()["params"]["snr_db"]
    20.0
    """
    load_builtins()
    from .graph import CASCADES, cascade_at

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
