"""``LossyCodec``: the shared base of every per-item CPU codec corruption.

For each batch item the base class:

1. crops to the item's valid length and moves it to CPU (float64 for resampling);
2. optionally normalises its RMS level to ``input_level_dbfs`` (telephony codecs);
3. resamples to the codec's rate (``codec_rate``; e.g. Opus 48 kHz, AMR-NB 8 kHz);
4. appends ``tail_samples`` zeros (so the delayed end of the clip is decoded too)
   and zero-pads a clip shorter than ``min_samples`` (a few codec frames) so the
   codec always has whole frames to code; the result is cropped back;
5. runs encode -> decode through the chosen backend, ``passes`` times when the
   codec has a tandem parameter;
6. removes the codec delay: container priming is dropped by the demuxer where the
   container carries it (MP3 LAME tag, MP4 edit list, Ogg pre-skip) and the
   residual, measured per codec and backend (``residual_delay``), is cut here:
   whole samples at the codec rate, the fractional rest (e.g. AMR-NB's 39.6
   samples at 8 kHz) after resampling back to the input rate;
7. crops/pads to the input length, resamples back, restores the level, and writes
   the item back on the tensor's device and dtype. Padding stays zero.

Codecs are deterministic: no generator is consumed, so ``stochastic`` is False.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ..audio import resample
from ..corruptions.base import Corruption
from ..corruptions.params import Param
from .backends import CodecSpec, RoundTrip, get_backend

#: RMS below which a clip counts as silent (its level is not normalised).
SILENCE_RMS = 1e-9


def backend_param(choices: tuple[str, ...], default: str = "pyav") -> Param:
    """The ``backend`` parameter for codecs more than one backend can serve."""
    return Param("backend", default, str, choices=choices, help="pyav = in-process (default); ffmpeg = subprocess")


class LossyCodec(Corruption):
    """Encode -> decode one item at a time on CPU; subclasses declare the codec."""

    family = "codec"
    placement = "cpu"
    stochastic = False

    #: ffmpeg encoder, the muxer written and the demuxer read back.
    encoder: ClassVar[str] = ""
    muxer: ClassVar[str] = ""
    demuxer: ClassVar[str] = ""
    #: Sample rates the encoder accepts, ascending.
    native_rates: ClassVar[tuple[int, ...]] = ()
    #: Channels coded together; more channels are coded one by one as mono.
    max_channels: ClassVar[int] = 2
    #: Shortest input (samples at the codec rate) coded; shorter clips are zero-padded.
    min_samples: ClassVar[int] = 4096
    #: Zeros appended (codec rate) so the delayed end of the clip is still decoded.
    tail_samples: ClassVar[int] = 512
    #: Backend used when the codec has no ``backend`` parameter.
    default_backend: ClassVar[str] = "pyav"
    #: Residual delay (samples at the codec rate, may be fractional) left after the
    #: demuxer's priming removal, per backend.
    delays: ClassVar[Mapping[str, float]] = {}

    # -- hooks -------------------------------------------------------------------------
    def codec_rate(self, sample_rate: int, channels: int, params: Mapping[str, Any]) -> int:
        """The smallest native rate >= ``sample_rate`` (else the highest one).

        ``channels`` is the number of channels coded together in one stream.
        """
        for rate in self.native_rates:
            if rate >= sample_rate:
                return rate
        return self.native_rates[-1]

    def encoder_options(self, params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        return ()

    def encoder_name(self, params: Mapping[str, Any]) -> str:
        return self.encoder

    def make_spec(self, rate: int, channels: int, params: Mapping[str, Any]) -> CodecSpec:
        kbps = params.get("bitrate_kbps")
        return CodecSpec(
            codec=self.name,
            encoder=self.encoder_name(params),
            muxer=self.muxer,
            demuxer=self.demuxer,
            sample_rate=rate,
            channels=channels,
            bitrate_bps=None if kbps is None else int(round(float(kbps) * 1000)),
            options=self.encoder_options(params),
        )

    def residual_delay(self, backend: str, spec: CodecSpec, encoded: bytes) -> float:
        return float(self.delays.get(backend, 0.0))

    # -- one pass through the codec ----------------------------------------------------
    def backend_name(self, params: Mapping[str, Any]) -> str:
        return str(params.get("backend", self.default_backend))

    def code(self, pcm: np.ndarray, rate: int, params: Mapping[str, Any]) -> tuple[np.ndarray, float]:
        """One encode -> decode of float32 ``[C, N]`` at ``rate``.

        Returns ``[C, N]`` with the whole samples of the residual delay removed, and
        the fractional part still to remove (in samples at ``rate``); ``code_item``
        removes that after resampling back, where the sample grid is finer.
        """
        name = self.backend_name(params)
        spec = self.make_spec(rate, pcm.shape[0], params)
        result = self.roundtrip(name, spec, pcm)
        delay = float(self.residual_delay(name, spec, result.encoded))
        whole = int(math.floor(delay))
        return fit_length(result.audio[:, whole:], pcm.shape[1]), delay - whole

    def roundtrip(self, backend: str, spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
        """Encode -> decode ``pcm`` through ``backend``: the one step ``CodecCache``'s tape replaces."""
        return get_backend(backend).roundtrip(spec, pcm)  # the backend checks that it has the encoder

    # -- the corruption contract -------------------------------------------------------
    def transform_group(
        self,
        audio: Tensor,
        sample_rate: int,
        generators: list[torch.Generator],
        lengths: Tensor,
        **params: Any,
    ) -> Tensor:
        """Code every item alone on the CPU at its valid length; padding stays zero."""
        out = torch.zeros_like(audio)
        for i in range(audio.shape[0]):
            n = int(lengths[i])
            if n == 0:
                continue
            item = audio[i, :, :n].detach().to("cpu", torch.float64)
            coded = self.code_item(item, sample_rate, params)
            out[i, :, :n] = coded.to(device=audio.device, dtype=audio.dtype)
        return out

    def code_item(self, item: Tensor, sample_rate: int, params: Mapping[str, Any]) -> Tensor:
        """Code one ``[C, n]`` float64 CPU clip; returns ``[C, n]`` float64 aligned with it."""
        n = item.shape[-1]
        gain = level_gain(item, params.get("input_level_dbfs"))
        together = item.shape[0] if item.shape[0] <= self.max_channels else 1
        rate = self.codec_rate(sample_rate, together, params)
        x = self.to_codec_rate(item * gain, sample_rate, rate)
        m = x.shape[-1]
        pcm = np.zeros((x.shape[0], max(m + self.tail_samples, self.min_samples)), dtype=np.float32)
        pcm[:, :m] = x.numpy()
        groups = [pcm] if pcm.shape[0] <= self.max_channels else [pcm[c : c + 1] for c in range(pcm.shape[0])]
        coded = []
        for group in groups:
            leftover = 0.0
            for _ in range(int(params.get("passes", 1))):
                group, frac = self.code(group, rate, params)
                leftover += frac
            back = resample(torch.from_numpy(group[:, :m]).to(torch.float64), rate, sample_rate).numpy()
            shift = int(round(leftover * sample_rate / rate))
            coded.append(fit_length(back[:, shift:], n))
        return torch.from_numpy(np.concatenate(coded, axis=0)) / gain

    def to_codec_rate(self, item: Tensor, sample_rate: int, rate: int) -> Tensor:
        """``item`` resampled to the codec's ``rate`` (a tape replaying stored bitstreams only needs its shape)."""
        return resample(item, sample_rate, rate)

    # -- description -------------------------------------------------------------------
    @classmethod
    def backend_choices(cls) -> tuple[str, ...]:
        for p in cls.params:
            if p.name == "backend" and p.choices:
                return tuple(str(c) for c in p.choices)
        return (cls.default_backend,)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The registry description plus the encoder and each backend's versions."""
        info = super().describe()
        info["encoder"] = cls.encoder
        info["native_rates_hz"] = list(cls.native_rates)
        info["backends"] = {b: get_backend(b).versions() for b in cls.backend_choices()}
        return info

    def provenance(self) -> dict[str, Any]:
        """What this configured instance runs: codec, encoder, backend and its versions."""
        backend = self.backend_name(self._values)
        return {
            "codec": self.name,
            "encoder": self.encoder_name(self._values),
            "backend": backend,
            "versions": get_backend(backend).versions(),
        }


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad ``[C, M]`` to ``[C, n]``."""
    if x.shape[-1] >= n:
        return np.ascontiguousarray(x[..., :n])
    out = np.zeros(x.shape[:-1] + (n,), dtype=x.dtype)
    out[..., : x.shape[-1]] = x
    return out


def level_gain(item: Tensor, level_dbfs: float | None) -> float:
    """Gain that brings ``item``'s RMS to ``level_dbfs`` (1.0 when None or silent)."""
    if level_dbfs is None:
        return 1.0
    rms = float(item.pow(2).mean().sqrt())
    if not math.isfinite(rms) or rms < SILENCE_RMS:
        return 1.0
    return 10.0 ** (float(level_dbfs) / 20.0) / rms
