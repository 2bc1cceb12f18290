"""Load ``pkg.module:factory`` / ``path/to/file.py:factory`` specs and plain Python callables.

The factory returns an ``nn.Module`` or a callable taking ``[B, T]`` audio. If it
accepts a ``checkpoint`` argument it receives the checkpoint path and loads it
itself; otherwise the checkpoint is read here with
``torch.load(path, map_location="cpu", weights_only=True)`` and loaded as a state
dict into the returned module. Full pickles need ``trust_checkpoint=True``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import pickle
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._trust import TRUST_CHECKPOINT_HELP
from .base import DetectorLoadError
from .grammar import is_path_spec, split_factory_spec
from .loaded import Loaded, sha256_of

#: Help text of the CLI flag ``--trust-checkpoint`` (the sweep command uses this constant).
#: Keys under which training scripts commonly nest the state dict.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")

__all__ = [
    "TRUST_CHECKPOINT_HELP",
    "as_forward",
    "callable_ref",
    "is_path_spec",
    "load_callable",
    "load_factory",
    "load_state",
    "read_checkpoint",
    "resolve_factory",
    "split_factory_spec",
]


def resolve_factory(spec: str) -> Callable[..., Any]:
    """Import the module or file named by ``spec`` and return its factory attribute."""
    target, attr = split_factory_spec(spec)
    if is_path_spec(target):
        module = _import_file(Path(target), spec)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise DetectorLoadError(spec, f"cannot import module {target!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise DetectorLoadError(spec, f"{target} has no callable named {attr!r}")
    return factory


def _import_file(path: Path, spec: str) -> Any:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise DetectorLoadError(spec, f"model file {path} does not exist")
    # The file's folder goes on sys.path so its sibling imports work, and so that
    # (trusted) full pickles referring to its classes can be unpickled later.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    mod_name = f"_audiostress_user_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise DetectorLoadError(spec, f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        raise DetectorLoadError(spec, f"importing {path} raised {type(exc).__name__}: {exc}") from exc
    return module


def _accepts_checkpoint(factory: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "checkpoint" in params


def read_checkpoint(path: str | Path, *, trust: bool, name: str) -> Any:
    """``torch.load`` on CPU; ``weights_only`` unless ``trust``. Refusals say how and why to opt in."""
    p = Path(path)
    if not p.is_file():
        raise DetectorLoadError(name, f"checkpoint {p} does not exist")
    try:
        return torch.load(p, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as exc:
        if trust:
            raise DetectorLoadError(name, f"checkpoint {p} could not be unpickled: {exc}") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorLoadError(
            name,
            f"checkpoint {p} is not a plain state dict, so the safe loader "
            f"(torch.load weights_only=True) refused it ({first}). If you made this file or fully "
            "trust its source, pass --trust-checkpoint (trust_checkpoint=True): unpickling a full "
            "checkpoint can execute arbitrary code. Better: re-save it with "
            "torch.save(model.state_dict(), path).",
        ) from exc
    except (RuntimeError, OSError, EOFError) as exc:
        raise DetectorLoadError(name, f"checkpoint {p} could not be read: {exc}") from exc


def load_state(module: nn.Module, obj: Any, *, name: str, path: str | Path) -> None:
    """Load a checkpoint object (state dict, nested state dict or trusted full module) into ``module``."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise DetectorLoadError(name, f"checkpoint {path} holds a {type(obj).__name__}, expected a state dict")
    own = set(module.state_dict())
    state = dict(obj)
    if not own & set(state):
        for key in _NESTED_KEYS:
            if isinstance(state.get(key), Mapping):
                state = dict(state[key])
                break
        if isinstance(state, dict) and state and all(str(k).startswith("module.") for k in state):
            state = {str(k)[len("module.") :]: v for k, v in state.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        missing = sorted(own - set(state))[:5]
        unexpected = sorted(set(map(str, state)) - own)[:5]
        raise DetectorLoadError(
            name,
            f"checkpoint {path} does not fit the model: missing keys {missing}, unexpected keys "
            f"{unexpected} ({str(exc).splitlines()[0]})",
        ) from exc


def as_forward(model: Any, device: torch.device, name: str) -> Callable[[torch.Tensor], Any]:
    """Put an ``nn.Module`` in eval mode on ``device``; return the callable used for inference."""
    if isinstance(model, nn.Module):
        model.to(device)
        model.eval()
        return model
    if callable(model):
        return model
    raise DetectorLoadError(name, f"expected the factory to return an nn.Module or a callable, got {type(model).__name__}")


def load_factory(
    spec: str,
    *,
    checkpoint: str | None,
    kwargs: Mapping[str, Any] | None,
    trust_checkpoint: bool,
    device: torch.device,
    name: str | None = None,
) -> Loaded:
    """Build the model from a factory spec and load its checkpoint."""
    target, attr = split_factory_spec(spec)
    label = name or (f"{Path(target).stem}:{attr}" if is_path_spec(target) else spec)
    factory = resolve_factory(spec)
    call_kwargs = dict(kwargs or {})
    hands_checkpoint = checkpoint is not None and _accepts_checkpoint(factory)
    if hands_checkpoint:
        call_kwargs["checkpoint"] = checkpoint
    try:
        model = factory(**call_kwargs)
    except Exception as exc:
        raise DetectorLoadError(
            label, f"factory {attr}({', '.join(call_kwargs)}) raised {type(exc).__name__}: {exc}"
        ) from exc
    if checkpoint is not None and not hands_checkpoint:
        if not isinstance(model, nn.Module):
            raise DetectorLoadError(
                label,
                f"factory {attr} returned a {type(model).__name__}, not an nn.Module, so the checkpoint "
                "cannot be loaded into it; give the factory a `checkpoint` parameter to load it itself",
            )
        load_state(model, read_checkpoint(checkpoint, trust=trust_checkpoint, name=label), name=label, path=checkpoint)
    return Loaded(
        forward=as_forward(model, device, label),
        name=label,
        provenance={
            "spec": spec,
            "loader": "factory",
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "checkpoint_sha256": sha256_of(checkpoint),
            "checkpoint_loaded_by": None if checkpoint is None else ("factory" if hands_checkpoint else "audiostress"),
            "trust_checkpoint": bool(trust_checkpoint),
            "kwargs": dict(kwargs or {}),
        },
    )


def callable_ref(model: Any) -> str:
    """``python:module.qualname`` of a function, class or instance (an instance names its class)."""
    module = getattr(model, "__module__", None) or type(model).__module__
    return f"python:{module}.{getattr(model, '__qualname__', type(model).__qualname__)}"


def load_callable(
    model: Callable[..., Any],
    *,
    checkpoint: str | None,
    trust_checkpoint: bool,
    device: torch.device,
    name: str | None = None,
) -> Loaded:
    """Wrap a Python callable or ``nn.Module`` (Python API); a checkpoint needs an ``nn.Module``."""
    label = name or getattr(model, "__name__", None) or type(model).__name__
    if checkpoint is not None:
        if not isinstance(model, nn.Module):
            raise DetectorLoadError(label, "a checkpoint can only be loaded into an nn.Module")
        load_state(model, read_checkpoint(checkpoint, trust=trust_checkpoint, name=label), name=label, path=checkpoint)
    return Loaded(
        forward=as_forward(model, device, label),
        name=label,
        provenance={
            "spec": callable_ref(model),
            "loader": "callable",
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "checkpoint_sha256": sha256_of(checkpoint),
            "trust_checkpoint": bool(trust_checkpoint),
            "kwargs": {},
        },
    )
