"""Opus's SILK narrowband check reads the Ogg pages itself: the same packets and share as PyAV's demuxer."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
import torch

from audiostress.audio import resample
from audiostress.codecs.backends import pyav
from audiostress.codecs.opus import SILK_NB_CONFIGS, ogg_packets, silk_nb_share
from audiostress.corruptions import create, get
from audiostress.synth import speech_like


def demuxed(encoded: bytes) -> list[bytes]:
    """The reference: the audio packets PyAV's Ogg demuxer gives (headers are not packets there)."""
    with av.open(io.BytesIO(encoded), "r", format="ogg") as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def encoded(table: str | None, severity: int, seconds: float, channels: int) -> bytes:
    node = create("opus", severity=severity, table=table)
    x = np.stack([speech_like(seconds, 16000, seed=s).numpy().ravel() for s in range(channels)]).astype(np.float32)
    pcm = resample(torch.from_numpy(x).double(), 16000, 48000).float().numpy()
    return pyav.encode(node.make_spec(48000, channels, node.values), pcm)


@pytest.mark.parametrize("table", [None, *get("opus").tables])
@pytest.mark.parametrize("severity", [1, 5])
@pytest.mark.parametrize(("seconds", "channels"), [(0.3, 1), (3.0, 1), (1.5, 2)])
def test_toc_share_equals_the_demuxers(table, severity, seconds, channels):
    data = encoded(table, severity, seconds, channels)
    reference = demuxed(data)
    assert [p for p in ogg_packets(data)[2:] if p] == reference  # OpusHead and OpusTags come first
    share = sum((p[0] >> 3) in SILK_NB_CONFIGS for p in reference) / len(reference)
    assert silk_nb_share(data) == share


def test_the_narrowband_tables_are_mostly_silk_nb_and_fullband_is_not():
    assert silk_nb_share(encoded("asvspoof5_nb", 5, 2.0, 1)) > 0.5
    assert silk_nb_share(encoded("codecs", 5, 2.0, 1)) == 0.0


def test_a_stream_that_is_not_ogg_is_refused():
    with pytest.raises(ValueError, match="not an Ogg page"):
        ogg_packets(b"RIFF" + bytes(40))
