"""The built-in corruptions, loaded through the ``audiostress.corruptions`` entry-point group like any plugin.

``pyproject.toml`` declares ``builtins = "audiostress.corruptions.builtin:load"``.
``load`` imports every public module of ``audiostress.corruptions`` and
``audiostress.codecs``; each registers its classes with ``@register`` (and
``codecs/cascades.py`` its cascades), so a new file is picked up without
editing a list.
"""

from __future__ import annotations

import importlib
import pkgutil

#: Packages whose modules hold the built-in corruptions.
BUILTIN_PACKAGES = ("audiostress.corruptions", "audiostress.codecs")
#: Modules of those packages that define machinery, not corruptions.
NOT_CORRUPTIONS = frozenset({"base", "builtin", "call", "graph", "params", "plugins", "registry"})


def load() -> None:
    """Import every built-in corruption module (importing an already imported module is a no-op)."""
    for package_name in BUILTIN_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.name in NOT_CORRUPTIONS or info.ispkg:
                continue
            importlib.import_module(f"{package_name}.{info.name}")
