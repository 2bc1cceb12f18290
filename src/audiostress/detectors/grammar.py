"""The detector spec grammar, in one place.

A spec string is one of::

    torchscript:PATH      a TorchScript file
    onnx:PATH             an ONNX file
    hf:DIR                a local Hugging Face model directory
    FILE.py:ATTR          a factory in a Python file (any target ending in .py or holding a slash)
    MODULE:ATTR           a factory in an importable module

``split_spec`` names the kind and the target; ``resolve_spec`` makes the file part
absolute against a base folder (the card's folder, or the working directory).
Everything else (cards, ``DetectorSpec``, the loaders) goes through these helpers.

>>> split_spec("onnx:models/m.onnx")
('onnx', 'models/m.onnx')
>>> split_spec("pkg.module:build")
('factory', 'pkg.module:build')
>>> resolve_spec("m.py:build", Path("/models"))
'/models/m.py:build'
"""

from __future__ import annotations

from pathlib import Path

#: Spec prefix -> loader kind, for the model-file kinds.
MODEL_PREFIXES: dict[str, str] = {"torchscript:": "torchscript", "onnx:": "onnx", "hf:": "hf"}
#: The prefixes alone, in grammar order.
PREFIXES: tuple[str, ...] = tuple(MODEL_PREFIXES)


def is_path_spec(target: str) -> bool:
    """Whether the part before ``:factory`` is a file path rather than a dotted module name."""
    return target.endswith(".py") or "/" in target or "\\" in target


def split_factory_spec(spec: str) -> tuple[str, str]:
    """``"a/b.py:build"`` -> ``("a/b.py", "build")``; raises ValueError on other shapes."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr.isidentifier():
        raise ValueError(
            f"Expected a detector spec like `path/to/model.py:build` or `pkg.module:build`, got {spec!r}"
        )
    return target, attr


def split_spec(spec: str) -> tuple[str, str]:
    """``(kind, target)``: kind is ``torchscript``, ``onnx``, ``hf`` or ``factory``.

    For the model-file kinds the target is the path after the prefix; for a factory
    it is the whole ``target:attr`` string, whose shape is checked (ValueError).
    """
    for prefix, kind in MODEL_PREFIXES.items():
        if spec.startswith(prefix):
            return kind, spec[len(prefix) :]
    split_factory_spec(spec)
    return "factory", spec


def resolve_path(path: str, base: Path) -> Path:
    """``~`` expanded; a relative path is taken relative to ``base`` and resolved."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def resolve_spec(spec: str, base: Path) -> str:
    """Make the file part of a spec absolute relative to ``base``; module specs are unchanged.

    A string that is not a well-formed spec is returned as it is, so that the
    caller that parses it reports the error.
    """
    for prefix in PREFIXES:
        if spec.startswith(prefix):
            return prefix + str(resolve_path(spec[len(prefix) :], base))
    target, sep, attr = spec.rpartition(":")
    if sep and target and is_path_spec(target):
        return f"{resolve_path(target, base)}:{attr}"
    return spec
