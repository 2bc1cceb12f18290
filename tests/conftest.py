"""Shared fixtures: deterministic test signals and per-item generators.

``tests/runners`` holds the sweep tests' generated dataset and analytic detector
(``sweep_fixtures.py``); it is put on ``sys.path`` here once, so tests in other
folders (the public API, the listening report) can import them too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000

sys.path.insert(0, str(Path(__file__).resolve().parent / "runners"))


@pytest.fixture(scope="session")
def sr() -> int:
    return SR


@pytest.fixture(scope="session")
def speech_4s() -> torch.Tensor:
    """A 4 s speech-like mono clip [1, T] at 16 kHz."""
    return speech_like(4.0, SR, seed=0)


@pytest.fixture(scope="session")
def speech_batch() -> torch.Tensor:
    """Three different 1 s speech-like clips as [3, 1, T]."""
    return torch.stack([speech_like(1.0, SR, seed=s) for s in (1, 2, 3)])


def gens(*seeds: int) -> list[torch.Generator]:
    return [make_generator(s) for s in seeds]


# --- EnCodec: untrained weights under the hub file names (no network in tests) -------------
from untrained_encodec import build_untrained_encodec  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def untrained_encodec_weights(tmp_path_factory):
    """Point AUDIOSTRESS_ENCODEC_WEIGHTS at a folder holding untrained 24/48 kHz state dicts
    saved under the hub file names; restore the environment and delete the files after."""
    import os
    import shutil

    from audiostress.codecs._encodec_weights import CHECKPOINTS, ENV_VAR

    folder = tmp_path_factory.mktemp("encodec_weights")
    for rate, file_name in CHECKPOINTS.items():
        torch.save(build_untrained_encodec(rate).state_dict(), folder / file_name)
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(ENV_VAR, None)
    else:
        os.environ[ENV_VAR] = before
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _encodec_single_thread(request):
    """EnCodec tests (node id mentions encodec) run with one torch thread: on this shared
    2-core machine, two intra-op threads made each forward pass about 4x slower."""
    if "encodec" not in request.node.nodeid:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- background_noise: a deterministic generated noise folder for the whole session ---------
@pytest.fixture(scope="session", autouse=True)
def generated_noise_dir(tmp_path_factory):
    """Write a babble-like clip (summed speech_like voices, 16 kHz) and a mains hum with harmonics
    (8 kHz, to exercise resampling) to a temp folder and point AUDIOSTRESS_NOISE_DIR at it;
    the previous environment value is restored after the session."""
    import os

    from audiostress.audio import save

    folder = tmp_path_factory.mktemp("noise_dir")
    babble = sum(speech_like(2.0, SR, seed=100 + k) for k in range(4)) / 4.0
    save(folder / "babble.wav", babble, SR)
    t = torch.arange(2 * 8000, dtype=torch.float64) / 8000
    hum = sum(0.2 / h * torch.sin(2 * torch.pi * 50.0 * h * t) for h in (1, 2, 3, 5))
    save(folder / "hum.wav", hum.to(torch.float32).unsqueeze(0), 8000)
    before = os.environ.get("AUDIOSTRESS_NOISE_DIR")
    os.environ["AUDIOSTRESS_NOISE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("AUDIOSTRESS_NOISE_DIR", None)
    else:
        os.environ["AUDIOSTRESS_NOISE_DIR"] = before
