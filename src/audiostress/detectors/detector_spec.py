"""``DetectorSpec``: a detector spec parsed once, picklable, that rebuilds the detector in any process.

``DetectorSpec.parse`` takes everything ``load_detector`` takes (a spec string, a
YAML card, a callable / ``nn.Module``, or another ``DetectorSpec``), reads the
card, merges it with the explicit arguments and resolves every path to an
absolute one. ``load()`` builds the ``Detector``; ``identity()`` says what decides
its scores without naming any path; ``describe()`` is the provenance view.

>>> spec = DetectorSpec.parse("audiostress.demo.detector:build", input={"length": 8000})
>>> spec.kind, spec.target, spec.input
('factory', 'audiostress.demo.detector:build', {'length': 8000})
>>> import pickle
>>> pickle.loads(pickle.dumps(spec)) == spec
True
"""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .base import PRECISIONS, Detector, DetectorLoadError
from .card import CardError, is_card, read_card
from .factory import callable_ref, load_callable, load_factory
from .fingerprint import (
    checkpoint_fingerprint,
    distribution_version,
    file_sha256,
    hf_dir_sha256,
    module_state_sha256,
)
from .grammar import MODEL_PREFIXES, is_path_spec, resolve_path, resolve_spec, split_factory_spec, split_spec
from .huggingface import load_hf
from .loaded import Loaded
from .onnx import load_onnx
from .spec import InputSpec, OutputSpec
from .torchscript import load_torchscript

#: The loader kinds a spec can name.
SPEC_KINDS = ("factory", "torchscript", "onnx", "hf", "callable")
#: Kinds whose loader implies input/output defaults (ONNX: the graph's fixed length; HF: the
#: feature extractor's rate and the fake class). Their effective specs need the model itself.
_KINDS_WITH_LOADER_DEFAULTS = ("onnx", "hf")
_PREFIX_OF = {kind: prefix for prefix, kind in MODEL_PREFIXES.items()}
_DEFAULTS: dict[str, Any] = {"device": "cpu", "precision": "fp32", "batch_size": 16, "trust_checkpoint": False}
_MULTIPROCESS_HINT = (
    "pass a spec string such as `path/to/model.py:build` (or a card) for multi-process runs; "
    "a callable spec pickles only when the callable does (a module-level function or class instance)"
)


def _merge(defaults: Mapping[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
    """User keys override loader defaults, except that a user null never erases a loader value."""
    merged = dict(defaults)
    for key, value in (user or {}).items():
        if value is None and merged.get(key) is not None:
            continue
        merged[key] = value
    return merged


def _torch_device(device: str | torch.device, label: str) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DetectorLoadError(label, f"Expected `device` such as cpu, cuda or cuda:1, got {device!r}") from exc


def _checkpoint_path(checkpoint: str | os.PathLike[str] | None) -> str | None:
    """An existing checkpoint becomes absolute; a string that names no file is kept as written."""
    if checkpoint is None:
        return None
    path = resolve_path(str(checkpoint), Path.cwd())
    return str(path) if path.exists() else str(checkpoint)


@dataclass(frozen=True)
class DetectorSpec:
    """What to load and how: the parsed, location-resolved form of a detector spec.

    - ``kind``: ``factory``, ``torchscript``, ``onnx``, ``hf`` or ``callable``.
    - ``target``: ``/abs/model.py:build`` (file factory), ``pkg.module:build``
      (package factory), the absolute model path (torchscript/onnx/hf), or the
      object itself (callable).
    - ``checkpoint``: absolute path (or a factory's own reference string), or None.
    - ``kwargs``, ``input``, ``output``: plain dicts; ``input``/``output`` are the
      user's overrides, merged over the loader's defaults by ``load``.
    - ``name``: display name (None: derived from the spec by the loader).
    - ``device``, ``precision``, ``batch_size``, ``trust_checkpoint``: as in ``load_detector``.
    - ``card``: absolute path of the card it came from, or None.

    Build one with ``parse``. Instances compare by value and pickle (a callable
    spec only when the callable pickles).
    """

    kind: str
    target: Any
    checkpoint: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    device: str = "cpu"
    precision: str = "fp32"
    batch_size: int = 16
    trust_checkpoint: bool = False
    card: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SPEC_KINDS:
            raise ValueError(f"Expected `kind` in {{{', '.join(SPEC_KINDS)}}}, got {self.kind!r}")
        if self.kind == "callable":
            if not callable(self.target):
                raise DetectorLoadError(
                    self.label, f"expected a spec string, a card path or a callable, got {type(self.target).__name__}"
                )
            if self.kwargs:
                raise DetectorLoadError(self.label, "`kwargs` apply only to factory specs (file.py:build)")
        elif not isinstance(self.target, str):
            raise ValueError(f"Expected `target` of a {self.kind} spec to be a string, got {type(self.target).__name__}")
        if self.kind in _PREFIX_OF:
            prefix = _PREFIX_OF[self.kind]
            if self.checkpoint is not None:
                raise DetectorLoadError(self.label, f"`checkpoint` does not apply to {prefix} specs; the model file is the spec")
            if self.kwargs:
                raise DetectorLoadError(self.label, f"`kwargs` do not apply to {prefix} specs; they go to factory specs only")
        if self.precision not in PRECISIONS:
            raise ValueError(f"Expected `precision` in {{{', '.join(PRECISIONS)}}}, got {self.precision!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"Expected `batch_size` to be a positive integer, got {self.batch_size!r}")
        dev = _torch_device(self.device, self.label)
        if isinstance(self.device, torch.device):  # stored as text, as the CLI writes it
            object.__setattr__(self, "device", str(dev))

    # -- parsing ---------------------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        spec: str | os.PathLike[str] | Callable[..., Any] | nn.Module | DetectorSpec,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        input: Mapping[str, Any] | None = None,
        output: Mapping[str, Any] | None = None,
        name: str | None = None,
        device: str | torch.device | None = None,
        precision: str | None = None,
        batch_size: int | None = None,
        trust_checkpoint: bool | None = None,
    ) -> DetectorSpec:
        """Parse a spec string, a card (``*.yaml``/``*.yml``), a callable / ``nn.Module`` or a ``DetectorSpec``.

        A card's values (and an existing spec's) are defaults: every explicit
        non-None argument overrides the matching key, and ``kwargs``, ``input`` and
        ``output`` are merged key by key. Unset ``device``/``precision``/
        ``batch_size``/``trust_checkpoint`` mean cpu, fp32, 16 and False. Relative
        paths are resolved against the card's folder (card values) or the working
        directory (arguments). Raises ``CardError``/``ValueError`` for a malformed
        spec or setting and ``DetectorLoadError`` for a spec form that cannot apply.
        """
        options = {"device": device, "precision": precision, "batch_size": batch_size, "trust_checkpoint": trust_checkpoint}
        explicit: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        if isinstance(spec, DetectorSpec):
            return replace(
                spec,
                checkpoint=_checkpoint_path(checkpoint) if checkpoint is not None else spec.checkpoint,
                kwargs={**spec.kwargs, **(kwargs or {})},
                input={**spec.input, **(input or {})},
                output={**spec.output, **(output or {})},
                name=name if name is not None else spec.name,
                **explicit,
            )
        card: dict[str, Any] = {}
        if is_card(spec):
            card = read_card(str(spec))
            spec = card["detector"]
            resolved_ckpt = _checkpoint_path(checkpoint) if checkpoint is not None else card["checkpoint"]
            kwargs = {**card["kwargs"], **(kwargs or {})}
            input = {**card["input"], **(input or {})}
            output = {**card["output"], **(output or {})}
            name = name if name is not None else card["name"]
        else:
            resolved_ckpt = _checkpoint_path(checkpoint)
        kind, target = cls._kind_and_target(spec, name, card.get("card"))
        return cls(
            kind=kind,
            target=target,
            checkpoint=resolved_ckpt,
            kwargs=dict(kwargs or {}),
            input=dict(input or {}),
            output=dict(output or {}),
            name=name,
            card=card.get("card"),
            **{**_DEFAULTS, **explicit},
        )

    @staticmethod
    def _kind_and_target(spec: Any, name: str | None, card: str | None) -> tuple[str, Any]:
        if not isinstance(spec, (str, os.PathLike)):
            if not callable(spec):
                raise DetectorLoadError(
                    name or type(spec).__name__,
                    f"expected a spec string, a card path or a callable, got {type(spec).__name__}",
                )
            return "callable", spec
        try:
            kind, target = split_spec(resolve_spec(str(spec), Path.cwd()))
        except ValueError as exc:
            raise (CardError(f"{card}: {exc}") if card else exc) from exc
        return kind, target

    # -- views -----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The spec as a string: ``/abs/m.py:build``, ``onnx:/abs/m.onnx``, ``python:mod.fn`` for callables."""
        if self.kind == "callable":
            return callable_ref(self.target)
        return _PREFIX_OF.get(self.kind, "") + str(self.target)

    @property
    def label(self) -> str:
        """The name errors use before the detector is loaded: ``name``, else the spec text."""
        return self.name or self.text

    def describe(self) -> dict[str, Any]:
        """Provenance: every field as plain data, paths included (the card, the checkpoint, the spec)."""
        return {
            "kind": self.kind,
            "spec": self.text,
            "checkpoint": self.checkpoint,
            "kwargs": dict(self.kwargs),
            "input": dict(self.input),
            "output": dict(self.output),
            "name": self.name,
            "device": self.device,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "trust_checkpoint": self.trust_checkpoint,
            "card": self.card,
        }

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> Detector:
        """Build the ``Detector`` (its ``.spec`` is this spec).

        Raises ``DetectorLoadError`` when the model cannot be loaded (or CUDA is
        asked for but missing) and ``CardError`` for input/output settings that do
        not validate once merged over the loader's defaults.
        """
        dev = _torch_device(self.device, self.label)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise DetectorLoadError(self.label, f"device {self.device!r} requested but CUDA is not available; use --device cpu")
        loaded = self._load_model(dev)
        in_spec, out_spec = self._effective(loaded.input, loaded.output)
        if out_spec.fake_label is not None and self.kind != "hf":
            raise CardError("`output.fake_label` only works with hf: specs (they carry id2label); use `output.fake_index`")
        provenance = dict(loaded.provenance)
        provenance["card"] = self.card
        return Detector(
            loaded.forward,
            name=self.name or loaded.name,
            input=in_spec,
            output=out_spec,
            device=dev,
            precision=self.precision,
            batch_size=self.batch_size,
            provenance=provenance,
            spec=self,
        )

    def _load_model(self, dev: torch.device) -> Loaded:
        if self.kind == "callable":
            return load_callable(
                self.target, checkpoint=self.checkpoint, trust_checkpoint=self.trust_checkpoint, device=dev, name=self.name
            )
        if self.kind == "torchscript":
            return load_torchscript(self.target, device=dev, name=self.name)
        if self.kind == "onnx":
            return load_onnx(self.target, device=dev, name=self.name)
        if self.kind == "hf":
            return load_hf(
                self.target, device=dev, name=self.name,
                fake_index=self.output.get("fake_index"), fake_label=self.output.get("fake_label"),
            )  # fmt: skip
        return load_factory(
            self.target, checkpoint=self.checkpoint, kwargs=self.kwargs,
            trust_checkpoint=self.trust_checkpoint, device=dev, name=self.name,
        )  # fmt: skip

    def _effective(self, loader_input: Mapping[str, Any], loader_output: Mapping[str, Any]) -> tuple[InputSpec, OutputSpec]:
        try:
            return (
                InputSpec.from_mapping(_merge(loader_input, self.input)),
                OutputSpec.from_mapping(_merge(loader_output, self.output)),
            )
        except ValueError as exc:
            raise CardError(f"{self.card}: {exc}" if self.card else str(exc)) from exc

    # -- identity --------------------------------------------------------------------------

    def identity(self, detector: Detector | None = None) -> dict[str, Any]:
        """What decides the scores, free of any path: equal for a byte-identical copy elsewhere.

        Holds ``kind``; the model's content hash (a factory file's name and source
        sha256 plus the attribute, ``pkg.module:attr`` for a package factory, the
        model file's sha256 for torchscript/onnx, the config + weights of an hf
        directory, the state dict of an ``nn.Module`` callable); ``checkpoint_sha256``;
        ``kwargs``; the effective ``input``/``output`` specs (after loader defaults);
        ``precision``; and the runtime version for onnx/hf. Never the name (display
        only), device, batch size, ``trust_checkpoint`` (it admits a file or refuses
        it, it does not change scores) or any path. The effective specs are read
        from ``detector`` when given (one loaded from this spec); otherwise onnx/hf
        specs are loaded on CPU to learn their defaults.
        """
        if detector is not None:
            in_spec, out_spec = detector.input, detector.output
        elif self.kind in _KINDS_WITH_LOADER_DEFAULTS:
            built = replace(self, device="cpu").load()
            in_spec, out_spec = built.input, built.output
        else:
            in_spec, out_spec = self._effective({}, {})
        return {
            "kind": self.kind,
            **self._model_fingerprint(),
            **checkpoint_fingerprint(self.checkpoint),
            "kwargs": dict(self.kwargs),
            "input": in_spec.to_dict(),
            "output": out_spec.to_dict(),
            "precision": self.precision,
        }

    def _model_fingerprint(self) -> dict[str, Any]:
        if self.kind == "callable":
            state = module_state_sha256(self.target) if isinstance(self.target, nn.Module) else None
            return {"callable": callable_ref(self.target), "state_sha256": state}
        if self.kind == "factory":
            file, attr = split_factory_spec(self.target)
            if not is_path_spec(file):
                return {"factory": self.target, "source_sha256": None}
            return {"factory": f"{Path(file).name}:{attr}", "source_sha256": self._hash_or_raise(file_sha256, file)}
        if self.kind == "hf":
            return {"model_sha256": self._hash_or_raise(hf_dir_sha256, self.target), "transformers": distribution_version("transformers")}
        info: dict[str, Any] = {"model_sha256": self._hash_or_raise(file_sha256, self.target)}
        if self.kind == "onnx":
            info["onnxruntime"] = distribution_version("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")
        return info

    def _hash_or_raise(self, digest: Callable[[str], str | None], path: str) -> str:
        value = digest(path)
        if value is None:
            raise DetectorLoadError(self.label, f"cannot fingerprint {path}: it does not exist")
        return value

    # -- pickling --------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        if self.kind == "callable":
            try:
                pickle.dumps(self.target)
            except Exception as exc:  # lambdas, local functions, closures, unpicklable modules
                raise pickle.PicklingError(
                    f"DetectorSpec of callable {self.text!r} cannot be pickled "
                    f"({type(exc).__name__}: {exc}); {_MULTIPROCESS_HINT}"
                ) from exc
        return dict(self.__dict__)

    def __copy__(self) -> DetectorSpec:  # copies never pickle, so a lambda spec copies too
        return replace(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> DetectorSpec:
        return replace(self, **{f.name: copy.deepcopy(getattr(self, f.name), memo) for f in fields(self)})
