"""Where audiostress keeps what it computes once and reuses (trained demo model, API sweeps, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$AUDIOSTRESS_CACHE`` when set, else ``~/.cache/audiostress``."""
    env = os.environ.get("AUDIOSTRESS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "audiostress"
