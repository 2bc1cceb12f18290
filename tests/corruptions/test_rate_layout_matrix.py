"""Every registered corruption and cascade, at every severity, on mono and stereo at 8, 16, 22.05, 44.1 and 48 kHz.

Parametrised over registry x severity x layout x rate on 0.25 s clips. Each item
runs once, as a padded batch item (``lengths`` shorter than the tensor), and checks:

- shape and dtype kept, every sample finite, the padding left at zero;
- no channel of the output is silent (a corruption keeps some of a speech-like
  clip's energy).

EnCodec (and cascades using it) run with the untrained weights of tests/conftest.py;
these checks hold for any weights, so nothing is skipped. Alignment (lag 0 +- 1) is
not checked here: on 0.25 s clips under the harshest codec levels the
cross-correlation peak wanders by tens of samples while 1 s clips give lag 0, so
tests/codecs/test_alignment.py checks it on longer clips.
"""

from __future__ import annotations

import functools

import pytest
import torch

from audiostress.corruptions import CASCADES, available, create
from audiostress.corruptions.base import Node
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

NAMES = [n for n in available() if n != "clean"]
SEVERITIES = [1, 2, 3, 4, 5]
RATES = [8000, 16000, 22050, 44100, 48000]
LAYOUTS = {"mono": 1, "stereo": 2}
DURATION_S = 0.25
#: Padding appended after the valid part, as a fraction of it.
PAD_FRACTION = 0.25


@functools.cache
def _node(name: str, severity: int) -> Node:
    return create(name, severity=severity)


@functools.cache
def _clip(sample_rate: int, channels: int) -> torch.Tensor:
    """``[1, C, T + pad]``: distinct speech-like channels, then zero padding."""
    n = int(DURATION_S * sample_rate)
    audio = torch.stack([speech_like(DURATION_S, sample_rate, seed=10 + c)[0, :n] for c in range(channels)])
    return torch.cat([audio, torch.zeros(channels, int(n * PAD_FRACTION))], dim=1).unsqueeze(0)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("name", NAMES)
def test_every_corruption_every_severity_layout_and_rate(name: str, severity: int, layout: str, sample_rate: int) -> None:
    x = _clip(sample_rate, LAYOUTS[layout])
    n = int(DURATION_S * sample_rate)
    y = _node(name, severity).apply(x, sample_rate, generator=[make_generator(severity)], lengths=torch.tensor([n]))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert bool(torch.isfinite(y).all())
    assert bool((y[..., n:] == 0).all()), "padding must stay zero"
    energy = y[0, :, :n].pow(2).mean(dim=-1)
    assert bool((energy > 0).all()), f"silent output per channel: {energy.tolist()}"


def test_matrix_covers_the_registry() -> None:
    assert len(NAMES) >= 15 and set(CASCADES) <= set(NAMES)
    assert {"vorbis", "vorbis_then_aac", "encodec_24k", "opus"} <= set(NAMES)
