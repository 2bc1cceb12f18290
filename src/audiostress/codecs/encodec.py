"""Neural-codec re-encoding with EnCodec: ``encodec_24k`` (mono) and ``encodec_48k`` (stereo).

Pipeline for a batch ``[B, C, T]`` at ``sample_rate``:

1. channels are packed into the model's layout: the 24 kHz mono model codes every
   channel on its own (``[B*C, 1, T]``); the 48 kHz stereo model codes channel pairs
   (0, 1), (2, 3), ... and an odd last channel (mono included) is duplicated into a
   pair whose two decoded channels are averaged back into one;
2. the audio is resampled to the model rate (24 or 48 kHz) with
   ``torchaudio.functional.resample``. Feeding 16 kHz audio to the 24 kHz model is
   the Li et al. bug (a 1.5x pitch shift); it cannot happen here;
3. long clips are cut into chunks of ``chunk_s`` seconds overlapping by 1 % (as the
   reference 48 kHz implementation does with its 1 s segments); every chunk of the
   whole batch goes through ONE encoder-quantiser-decoder pass, and chunks are
   joined with complementary linear crossfades (they sum to exactly 1), so memory
   is bounded by ``B * C * chunk_s`` and a chunked identity codec returns its input;
4. the decoded audio is cropped to the chunk length (EnCodec pads to whole frames
   at the end, never at the start, so cropping the tail keeps time alignment),
   resampled back and cropped/padded to exactly ``T`` samples.

The 48 kHz model normalises every chunk by its RMS (``model.normalize``) and
rescales after decoding, as ``encodec`` does. Quantisation picks the nearest
codebook entry: it is deterministic, and nothing here is random.

Padding: the ``encodec`` convolutions reflect-pad their input, which depends on
the input length for short inputs, and the chunk layout depends on the length too,
so an item's output would depend on how much padding its batch gave it. The
corruption therefore groups items by valid length, crops each group to that length
and codes it in its own pass (equal-length items still share one forward pass);
a padded item equals the same clip run alone, for both models.
"""

from __future__ import annotations

from typing import Any

import torch
import torchaudio.functional as AF
from torch import Tensor

from ..corruptions.base import Corruption
from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._encodec_weights import ENV_VAR, checkpoint_name, load_model, resolve_weights

#: Overlap between consecutive chunks, as a fraction of the chunk (``encodec``'s default).
OVERLAP_FRACTION = 0.01
#: Added to the chunk RMS before normalising, as in ``encodec`` (keeps silence finite).
NORM_EPS = 1e-8


def _pack_channels(audio: Tensor, model_channels: int) -> Tensor:
    """``[B, C, T]`` -> ``[N, model_channels, T]`` rows (see the module docstring)."""
    b, c, t = audio.shape
    if model_channels == 1:
        return audio.reshape(b * c, 1, t)
    if c % 2:
        audio = torch.cat([audio, audio[:, -1:]], dim=1)
    return audio.reshape(-1, 2, t)


def _unpack_channels(rows: Tensor, batch: int, channels: int, model_channels: int) -> Tensor:
    """Inverse of ``_pack_channels``; an odd channel's duplicated pair is averaged back."""
    t = rows.shape[-1]
    if model_channels == 1:
        return rows.reshape(batch, channels, t)
    full = rows.reshape(batch, channels + channels % 2, t)
    if channels % 2:
        last = full[:, -2:].mean(dim=1, keepdim=True)
        full = torch.cat([full[:, : channels - 1], last], dim=1)
    return full


def chunk_offsets(n: int, chunk: int, overlap: int) -> list[int]:
    """Start offsets of chunks of ``chunk`` samples overlapping by ``overlap`` covering ``n``.

    >>> chunk_offsets(25, 10, 2)
    [0, 8, 16]
    """
    if chunk <= overlap:
        raise ValueError(f"Expected chunk > overlap, got {chunk} and {overlap}")
    offsets = [0]
    while offsets[-1] + chunk < n:
        offsets.append(offsets[-1] + chunk - overlap)
    return offsets


def _code(model: Any, x: Tensor, bandwidth_kbps: float) -> Tensor:
    """One encoder -> residual VQ -> decoder pass over ``x`` ``[N, ch, L]``; returns ``[N, ch, L]``."""
    scale = None
    if getattr(model, "normalize", False):
        rms = x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt()
        scale = rms + NORM_EPS
        x = x / scale
    emb = model.encoder(x)
    codes = model.quantizer.encode(emb, model.frame_rate, bandwidth_kbps)
    out = model.decoder(model.quantizer.decode(codes))
    n = x.shape[-1]
    if out.shape[-1] < n:
        out = torch.nn.functional.pad(out, (0, n - out.shape[-1]))
    out = out[..., :n]
    return out * scale if scale is not None else out


def _code_chunked(model: Any, x: Tensor, bandwidth_kbps: float, chunk: int) -> Tensor:
    """Code ``x`` ``[N, ch, L]`` in overlapping chunks joined by linear crossfades."""
    n = x.shape[-1]
    if n <= chunk:
        return _code(model, x, bandwidth_kbps)
    overlap = max(1, int(OVERLAP_FRACTION * chunk))
    offsets = chunk_offsets(n, chunk, overlap)
    out = torch.zeros_like(x)
    fade_in = (torch.arange(overlap, device=x.device, dtype=x.dtype) + 0.5) / overlap
    for k, start in enumerate(offsets):
        stop = min(start + chunk, n)
        weight = torch.ones(stop - start, device=x.device, dtype=x.dtype)
        if k > 0:
            weight[:overlap] = fade_in
        if k < len(offsets) - 1:
            weight[-overlap:] = 1.0 - fade_in
        # Out of place: a codec may hand back a view of its input.
        out[..., start:stop] += _code(model, x[..., start:stop], bandwidth_kbps) * weight
    return out


def encodec_roundtrip(
    model: Any,
    audio: Tensor,
    sample_rate: int,
    bandwidth_kbps: float,
    chunk_s: float,
) -> Tensor:
    """Encode and decode ``audio`` ``[B, C, T]`` with an EnCodec ``model``; same shape and dtype.

    ``model`` needs the ``encodec.EncodecModel`` attributes used here: ``sample_rate``,
    ``channels``, ``frame_rate``, ``normalize``, ``encoder``, ``quantizer``, ``decoder``.
    Every item is coded as ``T`` samples long: crop padded items first (the corruption
    groups items by valid length; see the module docstring).
    """
    b, c, t = audio.shape
    if b == 0 or c == 0 or t == 0:
        return audio.clone()
    rate = int(model.sample_rate)
    rows = _pack_channels(audio.to(torch.float32), int(model.channels))
    if sample_rate != rate:
        rows = AF.resample(rows, sample_rate, rate)
    chunk = max(1, int(round(chunk_s * rate)))
    with torch.inference_mode():
        coded = _code_chunked(model, rows, float(bandwidth_kbps), chunk)
    coded = coded.clone()  # leave inference mode: callers may need autograd-free normal tensors
    if sample_rate != rate:
        coded = AF.resample(coded, rate, sample_rate)
    if coded.shape[-1] >= t:
        coded = coded[..., :t]
    else:
        coded = torch.nn.functional.pad(coded, (0, t - coded.shape[-1]))
    return _unpack_channels(coded, b, c, int(model.channels)).to(audio.dtype)


_WEIGHTS_PARAM = Param(
    "weights_path",
    None,
    str,
    optional=True,
    help="checkpoint file or directory; default: $AUDIOSTRESS_ENCODEC_WEIGHTS, then the torch hub cache",
)


class _Encodec(Corruption):
    """Shared EnCodec corruption: resample, chunk, code at ``bandwidth_kbps``, resample back."""

    family = "neural_codec"
    placement = "device"
    model_rate: int = 24000

    def transform_group(  # type: ignore[override]
        self,
        audio: Tensor,
        sample_rate: int,
        generators: list[torch.Generator],
        lengths: Tensor,
        bandwidth_kbps: float,
        weights_path: str | None,
        chunk_s: float,
    ) -> Tensor:
        model = load_model(self.model_rate, weights_path, audio.device)
        t = audio.shape[-1]
        if bool((lengths == t).all()):
            return encodec_roundtrip(model, audio, sample_rate, bandwidth_kbps, chunk_s)
        # Code each valid length on its own so padding cannot change the output.
        out = torch.zeros_like(audio)
        for n in sorted(set(lengths.tolist())):
            idx = (lengths == n).nonzero().flatten().to(audio.device)
            out[idx, :, :n] = encodec_roundtrip(model, audio[idx, :, :n], sample_rate, bandwidth_kbps, chunk_s)
        return out

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The registry description plus the model rate and where its weights are looked for."""
        info = super().describe()
        info["model_rate_hz"] = cls.model_rate
        info["checkpoint"] = checkpoint_name(cls.model_rate)
        info["weights_env_var"] = ENV_VAR
        return info

    def provenance(self) -> dict[str, Any]:
        """What this configured instance runs: codec, backend, package version and weights file."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            package = version("encodec")
        except PackageNotFoundError:
            package = None
        weights_path = self._values.get("weights_path")
        try:  # never downloads: provenance must not touch the network
            weights: str | None = str(resolve_weights(self.model_rate, weights_path, download=False))  # type: ignore[arg-type]
        except FileNotFoundError:
            weights = None
        return {
            "codec": self.name,
            "backend": "encodec",
            "versions": {"encodec": package, "torch": torch.__version__},
            "model_rate_hz": self.model_rate,
            "weights": weights,
        }


@register
class Encodec24k(_Encodec):
    """EnCodec 24 kHz (causal, mono) re-encoding; each channel is coded separately."""

    name = "encodec_24k"
    description = (
        "EnCodec 24 kHz mono neural codec at bandwidth_kbps (audio resampled to 24 kHz and back; "
        "each channel coded on its own; chunked for long clips)."
    )
    model_rate = 24000
    params = (
        Param("bandwidth_kbps", 6.0, float, choices=(1.5, 3.0, 6.0, 12.0, 24.0), unit="kbps", help="target bandwidth"),
        _WEIGHTS_PARAM,
        Param("chunk_s", 10.0, float, low=0.1, high=600.0, unit="s", help="chunk length (1% overlap crossfade)"),
    )
    # Li, Chen & Wei 2025 EnCodec levels (ANCHORS.md); also the ASVspoof 5 C04 range.
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 'Measuring the Robustness of Audio Deepfake Detectors' EnCodec 24 kHz kbps levels",
        ({"bandwidth_kbps": 24.0}, {"bandwidth_kbps": 12.0}, {"bandwidth_kbps": 6.0},
         {"bandwidth_kbps": 3.0}, {"bandwidth_kbps": 1.5}),
    )


@register
class Encodec48k(_Encodec):
    """EnCodec 48 kHz (non-causal, stereo) re-encoding; mono is duplicated and averaged back."""

    name = "encodec_48k"
    description = (
        "EnCodec 48 kHz stereo neural codec at bandwidth_kbps (resampled to 48 kHz and back; mono "
        "duplicated to stereo and averaged back; more channels coded in pairs; 1 s chunks as trained)."
    )
    model_rate = 48000
    params = (
        Param("bandwidth_kbps", 6.0, float, choices=(3.0, 6.0, 12.0, 24.0), unit="kbps", help="target bandwidth"),
        _WEIGHTS_PARAM,
        Param("chunk_s", 1.0, float, low=0.1, high=600.0, unit="s", help="chunk length (1% overlap crossfade)"),
    )
    # The 48 kHz model only has 3, 6, 12 and 24 kbps; the Li et al. ladder (ANCHORS.md)
    # is followed down to its 3 kbps floor, so severities 4 and 5 are both 3 kbps.
    levels = SeverityTable(
        "li2025_48k",
        "Li, Chen & Wei 2025 EnCodec ladder restricted to the 48 kHz model's bandwidths (levels 4 and 5 both 3 kbps)",
        ({"bandwidth_kbps": 24.0}, {"bandwidth_kbps": 12.0}, {"bandwidth_kbps": 6.0},
         {"bandwidth_kbps": 3.0}, {"bandwidth_kbps": 3.0}),
    )
