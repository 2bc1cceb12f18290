"""The demo's built-in dataset: generated bona fide-like clips and spoof-like clips with real vocoder artifacts.

- **bona fide**: ``audiostress.synth.speech_like`` — a glottal pulse train through
  formant resonators (harmonic, full band) alternating with high-passed noise
  bursts (noise-excited), each clip with its own seed (so its own f0 and timing).
- **spoof**, two attacks, each resynthesised from another speech-like clip:
  ``griffin_lim`` rebuilds the waveform from the linear STFT magnitude with a few
  Griffin-Lim iterations (phase incoherence, smeared harmonics: the classic
  vocoder artifact); ``mel_vocoder`` goes through a 40-band mel spectrogram
  capped at 5 kHz and back (pseudo-inverse), then Griffin-Lim, so it is also
  band-limited.

Everything is deterministic: Griffin-Lim starts from zero phase
(``rand_init=False``) and synthesis draws only from seeded generators. Training
clips for the baseline detector use seeds disjoint from the evaluation clips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torchaudio.functional as taf
from torch import Tensor

from ..audio import save
from ..synth import speech_like

SAMPLE_RATE = 16000
DURATION_S = 2.0
ATTACKS = ("griffin_lim", "mel_vocoder")
#: STFT used for resynthesis.
N_FFT = 512
HOP = 128
#: Griffin-Lim iterations: few, as fast vocoders of the 2010s used; the artifact is audible.
GL_ITERS = 8
#: mel_vocoder: bands and upper frequency (the band limit).
N_MELS = 40
MEL_FMAX_HZ = 5000.0
#: Peak level of every clip (matches ``speech_like``).
PEAK = 0.5
#: Seed ranges: evaluation clips use EVAL_SEED + i, training clips TRAIN_SEED + i (disjoint).
EVAL_SEED = 1_000
TRAIN_SEED = 500_000
#: Offset between a split's bona fide seeds and the seeds of its spoof source clips.
SPOOF_SOURCE_OFFSET = 100_000


@dataclass(frozen=True)
class DemoClip:
    clip_id: str
    label: str
    attack: str | None
    audio: Tensor  # [1, T]


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads, restoring the previous count afterwards.

    The demo's tensors are small (2-s clips, a linear model): on a busy 2-core
    machine thread hand-offs cost far more than they save (a 2-s STFT took
    0.1 s with 2 threads and 0.3 ms with 1 on the shared CI box).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _normalise(x: Tensor) -> Tensor:
    return (PEAK * x / x.abs().max().clamp_min(1e-9)).to(torch.float32)


def griffin_lim(audio: Tensor) -> Tensor:
    """Resynthesise ``[1, T]`` audio from its STFT magnitude with zero-phase Griffin-Lim."""
    window = torch.hann_window(N_FFT)
    x = audio.to(torch.float32)
    mag = torch.stft(x, N_FFT, HOP, window=window, return_complex=True).abs()
    y = taf.griffinlim(mag, window, N_FFT, HOP, N_FFT, 1.0, GL_ITERS, 0.99, audio.shape[-1], False)
    return _normalise(y)


def mel_vocoder(audio: Tensor) -> Tensor:
    """Mel spectrogram (``N_MELS`` bands up to ``MEL_FMAX_HZ``) -> pseudo-inverse -> Griffin-Lim."""
    window = torch.hann_window(N_FFT)
    x = audio.to(torch.float32)
    mag = torch.stft(x, N_FFT, HOP, window=window, return_complex=True).abs()  # [1, F, frames]
    fb = taf.melscale_fbanks(N_FFT // 2 + 1, 0.0, MEL_FMAX_HZ, N_MELS, SAMPLE_RATE)  # [F, M]
    mel = torch.einsum("cft,fm->cmt", mag, fb)
    approx = torch.einsum("cmt,mf->cft", mel, torch.linalg.pinv(fb)).clamp_min(0.0)
    y = taf.griffinlim(approx, window, N_FFT, HOP, N_FFT, 1.0, GL_ITERS, 0.99, audio.shape[-1], False)
    return _normalise(y)


def make_clips(n_per_class: int, seed: int) -> list[DemoClip]:
    """``n_per_class`` bona fide and ``n_per_class`` spoof clips (attacks alternate), from seeds ``seed + i``."""
    if n_per_class < 1:
        raise ValueError(f"Expected `n_per_class` >= 1 for the demo dataset, got {n_per_class}")
    with torch_threads(1):
        return _make_clips(n_per_class, seed)


def _make_clips(n_per_class: int, seed: int) -> list[DemoClip]:
    clips: list[DemoClip] = []
    for i in range(n_per_class):
        clips.append(DemoClip(f"bonafide_{i:03d}", "bonafide", None, speech_like(DURATION_S, SAMPLE_RATE, seed=seed + i)))
    for i in range(n_per_class):
        attack = ATTACKS[i % len(ATTACKS)]
        source = speech_like(DURATION_S, SAMPLE_RATE, seed=seed + SPOOF_SOURCE_OFFSET + i)
        audio = griffin_lim(source) if attack == "griffin_lim" else mel_vocoder(source)
        clips.append(DemoClip(f"spoof_{i:03d}", "spoof", attack, audio))
    return clips


def write_dataset(root: Path, n_per_class: int = 40, seed: int = EVAL_SEED) -> Path:
    """Write the evaluation set as a folder dataset: ``root/bonafide/*.wav``, ``root/spoof/<attack>/*.wav``.

    Files are rewritten with the same bytes on a rerun. Returns ``root``.
    """
    root = Path(root)
    for clip in make_clips(n_per_class, seed):
        sub = root / "bonafide" if clip.label == "bonafide" else root / "spoof" / str(clip.attack)
        save(sub / f"{clip.clip_id}.wav", clip.audio, SAMPLE_RATE, subtype="FLOAT")
    return root
