"""Recording and replaying the encoded bitstreams of a graph's codecs (what ``CodecCache`` stores).

``taped(node, tape)`` returns a copy of ``node`` whose lossy-codec leaves get
their bitstreams from ``tape``: while recording, each encode is run and its bytes
appended; while replaying, the stored bytes are decoded instead of encoding. Both
modes share one path (bytes -> the backend's ``decode`` -> delay removal ->
``LossyCodec.code_item``'s resampling), and the backends' own ``roundtrip`` is
``decode(encode(pcm))``, so a replay is bit-identical to coding on the fly.
Only backends with separate ``encode``/``decode`` (pyav, ffmpeg) can be taped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..codecs._lossy import LossyCodec, fit_length
from ..codecs.backends import get_backend, missing_encoder
from ..corruptions import Cascade, Chain, Maybe, Node, OneOf
from ..corruptions.graph import Decided

#: Backends whose module has ``encode`` and ``decode``.
TAPEABLE_BACKENDS = ("pyav", "ffmpeg")


class Tape:
    """The bitstreams of one realisation, in the order the graph encodes them."""

    def __init__(self, streams: list[bytes] | None = None) -> None:
        self.recording = streams is None
        self.streams: list[bytes] = [] if streams is None else list(streams)
        self.position = 0

    def take(self) -> bytes:
        if self.position >= len(self.streams):
            raise RuntimeError(f"The cached entry holds {len(self.streams)} bitstreams but the graph asks for more; "
                               "rebuild the cache for this node")
        data = self.streams[self.position]
        self.position += 1
        return data


def _taped_code(self: Any, pcm: np.ndarray, rate: int, params: Mapping[str, Any]) -> tuple[np.ndarray, float]:
    name = self.backend_name(params)
    backend: Any = get_backend(name)
    spec = self.make_spec(rate, pcm.shape[0], params)
    tape: Tape = self._tape
    if tape.recording:
        if not backend.has_encoder(spec.encoder):
            raise missing_encoder(name, spec.codec, spec.encoder)
        encoded = backend.encode(spec, pcm)
        tape.streams.append(encoded)
    else:
        encoded = tape.take()
    audio = backend.decode(spec, encoded)
    delay = float(self.residual_delay(name, spec, encoded))
    whole = int(math.floor(delay))
    return fit_length(audio[:, whole:], pcm.shape[1]), delay - whole


_CLASSES: dict[type, type] = {}


def _taped_leaf(leaf: LossyCodec, tape: Tape) -> LossyCodec:
    backend = leaf.backend_name(leaf.values)
    if backend not in TAPEABLE_BACKENDS:
        raise ValueError(f"CodecCache cannot store {leaf.name} with backend={backend}: it needs a backend with separate "
                         f"encode and decode ({', '.join(TAPEABLE_BACKENDS)}); pass backend=pyav")
    cls = type(leaf)
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"Taped{cls.__name__}", (cls,), {"code": _taped_code})
    copy: Any = object.__new__(_CLASSES[cls])
    copy.__dict__.update(leaf.__dict__)
    copy._tape = tape
    taped_leaf: LossyCodec = copy
    return taped_leaf


def taped(node: Node, tape: Tape) -> Node:
    """A copy of ``node`` whose lossy codecs read and write ``tape`` (other nodes are shared, never changed)."""
    if isinstance(node, LossyCodec):
        return _taped_leaf(node, tape)
    if isinstance(node, Cascade):
        return Cascade(node.name, *[taped(n, tape) for n in node.nodes], severity=node.severity)
    if isinstance(node, Chain):
        return Chain(*[taped(n, tape) for n in node.nodes])
    if isinstance(node, OneOf):
        return OneOf([taped(n, tape) for n in node.nodes], weights=node.weights)
    if isinstance(node, Maybe):
        return Maybe(node.p, taped(node.node, tape))
    if isinstance(node, Decided):
        return Decided(node.slot, [taped(n, tape) for n in node.nodes], node.bounds, role=node.role)
    return node
