"""Shared pieces of the sweep tests (importable by name: `from sweep_fixtures import ...`): a generated folder dataset and the analytic detector.

Bona fide clips are full band (speech-like plus a faint broadband recording
noise); spoof clips are the same kind of signal low-passed at 3.6 kHz, so the
analytic detector (little energy above 4 kHz = fake) separates them cleanly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal as sps

from audiostress.synth import speech_like

SR = 16000
CLIP_S = 0.5
HERE = Path(__file__).parent
DETECTOR_SPEC = f"{HERE / 'analytic_detector.py'}:build"
#: The analytic detector sees each clip whole: 0.5 s at 16 kHz, zero-padded if shorter.
DETECTOR_INPUT = {"sample_rate": SR, "length": int(CLIP_S * SR), "pad": "zero", "crop": "first"}
DETECTOR_OUTPUT = {"kind": "score", "higher_is_fake": True}
#: Broadband noise level of the bona fide "recordings" (std, full scale 1).
NOISE_STD = 0.01


def bonafide_clip(seed: int) -> np.ndarray:
    x = speech_like(CLIP_S, SR, seed=seed).numpy()[0]
    rng = np.random.default_rng(seed + 10_000)
    return (x + NOISE_STD * rng.standard_normal(x.size)).astype(np.float32)


def spoof_clip(seed: int) -> np.ndarray:
    x = speech_like(CLIP_S, SR, seed=seed).numpy()[0]
    sos = sps.butter(10, 3600 / (SR / 2), output="sos")
    return sps.sosfiltfilt(sos, x).astype(np.float32)


def write_dataset(root: Path, n_per_class: int = 6) -> Path:
    """A folder dataset: ``root/bonafide/*.wav`` and ``root/spoof/*.wav`` (float WAV)."""
    for label, make, base in (("bonafide", bonafide_clip, 0), ("spoof", spoof_clip, 500)):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            sf.write(str(folder / f"{label}_{i:02d}.wav"), make(base + i), SR, subtype="FLOAT")
    return root


def load_analytic_detector(batch_size: int = 16):
    from audiostress.detectors import load_detector

    return load_detector(DETECTOR_SPEC, input=DETECTOR_INPUT, output=DETECTOR_OUTPUT, batch_size=batch_size)
