"""Recording and replaying the encoded bitstreams of a graph's codecs (what ``CodecCache`` stores).

``taped(node, tape)`` returns a copy of ``node`` whose lossy-codec leaves get
their bitstreams from ``tape``: while recording, each encode is run and its bytes
appended; while replaying, the stored bytes are decoded instead of encoding (and
the resampling to the codec's rate, whose output only the encoder reads, is
skipped). Only ``LossyCodec.roundtrip`` and ``to_codec_rate`` are replaced, so both modes share the codec's own path
around it (delay removal, ``code_item``'s resampling), and the backends' own ``roundtrip`` is
``decode(encode(pcm))``, so a replay is bit-identical to coding on the fly.
Only backends with separate ``encode``/``decode`` (pyav, ffmpeg) can be taped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..audio import resampled_length
from ..codecs._lossy import LossyCodec
from ..codecs.backends import CodecSpec, RoundTrip, get_backend, missing_encoder
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


def _taped_roundtrip(self: Any, name: str, spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
    backend: Any = get_backend(name)
    tape: Tape = self._tape
    if tape.recording:
        if not backend.has_encoder(spec.encoder):
            raise missing_encoder(name, spec.codec, spec.encoder)
        encoded = backend.encode(spec, pcm)
        tape.streams.append(encoded)
    else:
        encoded = tape.take()
    return RoundTrip(backend.decode(spec, encoded), encoded)


def _taped_to_codec_rate(self: Any, item: Tensor, sample_rate: int, rate: int) -> Tensor:
    if self._tape.recording:
        return LossyCodec.to_codec_rate(self, item, sample_rate, rate)
    # Replaying: the stored bitstream is decoded instead, so only the resampled shape is needed.
    return torch.zeros(item.shape[0], resampled_length(item.shape[-1], sample_rate, rate), dtype=item.dtype)


_CLASSES: dict[type, type] = {}


def _taped_leaf(leaf: LossyCodec, tape: Tape) -> LossyCodec:
    backend = leaf.backend_name(leaf.values)
    if backend not in TAPEABLE_BACKENDS:
        raise ValueError(f"CodecCache cannot store {leaf.name} with backend={backend}: it needs a backend with separate "
                         f"encode and decode ({', '.join(TAPEABLE_BACKENDS)}); pass backend=pyav")
    cls = type(leaf)
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"Taped{cls.__name__}", (cls,), {"roundtrip": _taped_roundtrip, "to_codec_rate": _taped_to_codec_rate})
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
