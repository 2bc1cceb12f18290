"""Training presets, and the text form of a variant (``artifactnet_4way``, ``mp3@3``, ``mp3{bitrate_kbps=128}``).

- ``artifactnet_4way``: a ``OneOf`` of clean, mp3, aac and opus at 128 kbps, equal
  weights: ArtifactNet's four training variants (WAV, MP3 128k, AAC 128k, Opus
  128k; its codec-pair Δ went from 0.95 to 0.16), the same codecs and bitrate as
  the ``codecs`` grid it is evaluated on.
- ``artifactnet_4way_random``: the same four branches with the bitrate drawn per
  item from 64..192 kbps (around 128), so the model does not learn one bitrate.

Both run mp3 at LAME ``quality=7`` (about 41 ms against 94 ms per 4 s clip at the
default, same CBR size): training wants throughput, and evaluation keeps LAME's
default in every severity table, so published protocols stay comparable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..corruptions import Clean, Node, OneOf, Uniform, create, parse_cli_value
from ..corruptions.registry import CASCADES

#: LAME quality the training presets use (speed; evaluation tables keep the default).
TRAINING_MP3_QUALITY = 7
#: Bitrate range of the random preset, kbps.
RANDOM_KBPS = (64.0, 192.0)


def artifactnet_4way(bitrate_kbps: float = 128.0, mp3_quality: int | None = TRAINING_MP3_QUALITY) -> Node:
    """Clean, mp3, aac or opus at ``bitrate_kbps``, one drawn per item with equal weights."""
    return OneOf([
        Clean(),
        create("mp3", params={"bitrate_kbps": bitrate_kbps, "quality": mp3_quality}),
        create("aac", params={"bitrate_kbps": bitrate_kbps}),
        create("opus", params={"bitrate_kbps": bitrate_kbps}),
    ])


def artifactnet_4way_random(kbps: tuple[float, float] = RANDOM_KBPS, mp3_quality: int | None = TRAINING_MP3_QUALITY) -> Node:
    """As ``artifactnet_4way`` with the bitrate drawn per item, uniformly in ``kbps``."""
    rate = Uniform(float(kbps[0]), float(kbps[1]))
    return OneOf([
        Clean(),
        create("mp3", params={"bitrate_kbps": rate, "quality": mp3_quality}),
        create("aac", params={"bitrate_kbps": rate}),
        create("opus", params={"bitrate_kbps": rate}),
    ])


PRESETS: dict[str, Callable[[], Node]] = {
    "artifactnet_4way": artifactnet_4way,
    "artifactnet_4way_random": artifactnet_4way_random,
}

_VARIANT = re.compile(r"^(?P<name>[a-z0-9_]+)(\[(?P<table>[a-z0-9_]+)\])?(@(?P<sev>\d+))?(\{(?P<params>[^}]*)\})?$")


def preset(name: str) -> Node:
    """The training preset ``name``; an unknown name lists the presets."""
    if name not in PRESETS:
        raise ValueError(f"Unknown training preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]()


def parse_variant(text: str) -> Node:
    """A preset name, or a cell written as in grids: ``mp3@3``, ``mp3[codecs]@5``, ``mp3{bitrate_kbps=128,quality=7}``.

    >>> parse_variant("mp3{bitrate_kbps=128}").to_dict()["params"]["bitrate_kbps"]
    128.0
    >>> parse_variant("artifactnet_4way").label()
    'one_of(clean, mp3, aac, opus)'
    """
    text = text.strip()
    if text in PRESETS:
        return preset(text)
    match = _VARIANT.match(text)
    if match is None:
        raise ValueError(
            f"Cannot read variant {text!r}; write a preset ({', '.join(PRESETS)}) or a cell such as mp3@3, "
            "mp3[codecs]@5 or mp3{bitrate_kbps=128}"
        )
    params = {}
    for piece in filter(None, (match["params"] or "").split(",")):
        key, sep, value = piece.partition("=")
        if not sep:
            raise ValueError(f"Variant {text!r}: expected key=value inside {{}}, got {piece!r}")
        params[key.strip()] = parse_cli_value(value.strip())
    severity = int(match["sev"]) if match["sev"] else None
    name = match["name"]
    if name == "clean":
        return Clean()
    if name in CASCADES:
        return create(name, severity=severity)
    return create(name, severity=severity, params=params or None, table=match["table"])
