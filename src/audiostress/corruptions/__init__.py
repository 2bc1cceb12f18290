"""Corruptions: the registry, the base contract and graph nodes.

>>> from audiostress.corruptions import create
>>> node = create("gaussian_noise", severity=2)
>>> node.to_dict()["params"]
{'snr_db': 30.0}

Nodes are callable on numpy arrays or tensors (``[T]``, ``[C, T]``, ``[B, C, T]``);
``corrupt(audio, sample_rate, name, severity=...)`` builds and calls in one step.
"""

from .base import FAMILIES, Clean, Corruption, Node, check_severity
from .graph import Cascade, Chain, Maybe, OneOf
from .params import Choice, Param, SeverityTable, Uniform, parse_cli_value
from .plugins import PluginError
from .registry import (
    CASCADES,
    CascadeSpec,
    available,
    cascade_at,
    corrupt,
    create,
    from_dict,
    get,
    load_builtins,
    register,
    register_cascade,
)

__all__ = [
    "CASCADES",
    "FAMILIES",
    "Cascade",
    "CascadeSpec",
    "Chain",
    "Choice",
    "Clean",
    "Corruption",
    "Maybe",
    "Node",
    "OneOf",
    "Param",
    "PluginError",
    "SeverityTable",
    "Uniform",
    "available",
    "cascade_at",
    "check_severity",
    "corrupt",
    "create",
    "from_dict",
    "get",
    "load_builtins",
    "parse_cli_value",
    "register",
    "register_cascade",
]
