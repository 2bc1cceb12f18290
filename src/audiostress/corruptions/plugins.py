"""Corruption plugins: the ``audiostress.corruptions`` entry-point group.

A distribution adds corruptions by declaring, in its ``pyproject.toml``::

    [project.entry-points."audiostress.corruptions"]
    my_noises = "my_package.noises"            # a module whose import registers classes
    my_codecs = "my_package.codecs:register"   # or a function called with no arguments

The built-ins are registered the same way (``builtins =
"audiostress.corruptions.builtin:load"``). When the package metadata is absent
(a source tree on ``sys.path`` without ``pip install``), the built-in entry
point is added anyway, and that is logged at debug level.

A plugin that fails to load raises ``PluginError`` naming the entry point and
its distribution: a broken plugin never vanishes silently from a sweep.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable

GROUP = "audiostress.corruptions"
#: The entry point that loads the built-in corruptions (also the fallback without metadata).
BUILTIN = importlib.metadata.EntryPoint("builtins", "audiostress.corruptions.builtin:load", GROUP)

_log = logging.getLogger("audiostress.plugins")
_loaded: set[tuple[str, str]] = set()


class PluginError(ImportError):
    """A corruption entry point failed to import or to register its corruptions."""


def distribution_name(entry_point: importlib.metadata.EntryPoint) -> str:
    """``name version`` of the distribution that declares ``entry_point``, if known."""
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def discover(found: Iterable[importlib.metadata.EntryPoint] | None = None) -> list[importlib.metadata.EntryPoint]:
    """The entry points to load: ``found`` (default: the installed ones of ``GROUP``), built-ins first.

    Without a ``builtins`` entry point among them the built-in one is added (source tree, no metadata).

    >>> [ep.name for ep in discover([])]
    ['builtins']
    """
    points = list(importlib.metadata.entry_points(group=GROUP) if found is None else found)
    if not any(ep.value == BUILTIN.value for ep in points):
        _log.debug("no %r entry point for the built-ins in the package metadata; loading them from %s", GROUP, BUILTIN.value)
        points.append(BUILTIN)
    # Built-ins first, so a plugin that reuses a built-in name is the one reported as the duplicate.
    unique = {(ep.name, ep.value): ep for ep in points}
    return sorted(unique.values(), key=lambda ep: (ep.value != BUILTIN.value, ep.name, ep.value))


def load_entry_point(entry_point: importlib.metadata.EntryPoint) -> None:
    """Import ``entry_point`` (and call it if it is a function); idempotent per (name, value).

    Raises ``PluginError`` naming the entry point, its distribution and the fix.
    """
    key = (entry_point.name, entry_point.value)
    if key in _loaded:
        return
    where = f"corruption plugin {entry_point.name!r} ({entry_point.value}) from {distribution_name(entry_point)}"
    try:
        target = entry_point.load()
        if isinstance(target, type):
            raise TypeError("an entry point names a module or a function, not a class; point it at the module that uses @register")
        if callable(target):
            target()
    except Exception as exc:
        raise PluginError(
            f"The {where} failed to load: {type(exc).__name__}: {exc}. "
            f"Fix the plugin or uninstall its distribution; entry-point group {GROUP!r}"
        ) from exc
    _loaded.add(key)
    _log.debug("loaded %s", where)


def load_all(found: Iterable[importlib.metadata.EntryPoint] | None = None) -> None:
    """Load every entry point of ``discover(found)`` that is not loaded yet."""
    for entry_point in discover(found):
        load_entry_point(entry_point)
