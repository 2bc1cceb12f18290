"""Imported by the fork server before it forks any worker (``worker_start.py``): what every task needs.

Importing this module imports torch, PyAV and the corruption worker, and loads
every corruption plugin, so each worker forked afterwards starts with them in
memory instead of importing them itself. It computes nothing (no torch op runs,
so no thread pool is started in the server).
"""

from __future__ import annotations

import av  # noqa: F401
import torch  # noqa: F401

from ..corruptions import available
from . import corrupt_worker  # noqa: F401

available()
