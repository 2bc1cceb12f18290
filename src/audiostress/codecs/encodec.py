"""Neural-codec re-encoding with EnCodec: ``encodec_24k`` (mono) and ``encodec_48k`` (stereo).

Only what is EnCodec's own lives here: the two models' rates and channel layouts,
their bandwidths and severity tables, the encoder -> residual VQ -> decoder call and
the weights lookup (``_encodec_weights.py``). The generic machinery comes from the
``NeuralCodec`` base in ``_neural.py``:

- the 24 kHz mono model codes every channel on its own; the 48 kHz stereo model
  codes channel pairs, and an odd last channel (mono included) is duplicated into a
  pair whose two decoded channels are averaged back into one;
- audio is resampled to the model rate (24 or 48 kHz) and back. Feeding 16 kHz
  audio to the 24 kHz model is the Li et al. bug (a 1.5x pitch shift); it cannot
  happen here;
- long clips are cut into chunks of ``chunk_s`` seconds overlapping by 1 % (as the
  reference 48 kHz implementation does with its 1 s segments), every chunk of the
  batch goes through ONE encoder-quantiser-decoder pass, and chunks are joined with
  complementary linear crossfades, so memory is bounded by ``B * C * chunk_s``;
- items of a padded batch are grouped by valid length and each length is coded in
  its own pass: the ``encodec`` convolutions reflect-pad their input, which depends
  on the input length for short inputs, so without this a padded item's output
  would depend on its batch. A padded item equals the same clip run alone.

The decoded audio is cropped to the chunk length (EnCodec pads to whole frames at
the end, never at the start, so cropping the tail keeps time alignment). The 48 kHz
model normalises every chunk by its RMS (``model.normalize``) and rescales after
decoding, as ``encodec`` does. Quantisation picks the nearest codebook entry: it is
deterministic, and nothing here is random.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._encodec_weights import ENV_VAR, checkpoint_name, load_model, resolve_weights
from ._neural import OVERLAP_FRACTION, NeuralCodec, chunk_offsets, chunk_param, neural_roundtrip, weights_path_param

__all__ = ["NORM_EPS", "OVERLAP_FRACTION", "Encodec24k", "Encodec48k", "chunk_offsets", "encodec_roundtrip"]

#: Added to the chunk RMS before normalising, as in ``encodec`` (keeps silence finite).
NORM_EPS = 1e-8


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
    bandwidth = float(bandwidth_kbps)
    return neural_roundtrip(
        lambda rows: _code(model, rows, bandwidth),
        audio,
        sample_rate,
        int(model.sample_rate),
        int(model.channels),
        chunk_s,
    )


class _Encodec(NeuralCodec):
    """Shared EnCodec corruption: the ``NeuralCodec`` pipeline around one EnCodec pass."""

    package = "encodec"

    def load(self, device: torch.device, weights_path: str | None) -> Any:
        """The cached ``encodec.EncodecModel`` for this rate (see ``_encodec_weights``)."""
        return load_model(self.model_rate, weights_path, device)

    def code(self, model: Any, rows: Tensor, **params: Any) -> Tensor:
        """Encoder -> residual VQ at ``bandwidth_kbps`` -> decoder (RMS-normalised for 48 kHz)."""
        return _code(model, rows, float(params["bandwidth_kbps"]))

    def weights_file(self) -> str | None:
        """The checkpoint this instance would load; never downloads (provenance is offline)."""
        given = self._values.get("weights_path")
        weights_path = given if isinstance(given, str) else None
        try:
            return str(resolve_weights(self.model_rate, weights_path, download=False))
        except FileNotFoundError:
            return None

    @classmethod
    def weights_info(cls) -> dict[str, Any]:
        """The hub checkpoint name and the environment variable naming a weights folder."""
        return {"checkpoint": checkpoint_name(cls.model_rate), "weights_env_var": ENV_VAR}


_WEIGHTS_PARAM: Param = weights_path_param(ENV_VAR)


@register
class Encodec24k(_Encodec):
    """EnCodec 24 kHz (causal, mono) re-encoding; each channel is coded separately."""

    name = "encodec_24k"
    description = (
        "EnCodec 24 kHz mono neural codec at bandwidth_kbps (audio resampled to 24 kHz and back; "
        "each channel coded on its own; chunked for long clips)."
    )
    model_rate = 24000
    model_channels = 1
    params = (
        Param("bandwidth_kbps", 6.0, float, choices=(1.5, 3.0, 6.0, 12.0, 24.0), unit="kbps", help="target bandwidth"),
        _WEIGHTS_PARAM,
        chunk_param(10.0),
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
    model_channels = 2
    params = (
        Param("bandwidth_kbps", 6.0, float, choices=(3.0, 6.0, 12.0, 24.0), unit="kbps", help="target bandwidth"),
        _WEIGHTS_PARAM,
        chunk_param(1.0),
    )
    # The 48 kHz model only has 3, 6, 12 and 24 kbps; the Li et al. ladder (ANCHORS.md)
    # is followed down to its 3 kbps floor, so severities 4 and 5 are both 3 kbps.
    levels = SeverityTable(
        "li2025_48k",
        "Li, Chen & Wei 2025 EnCodec ladder restricted to the 48 kHz model's bandwidths (levels 4 and 5 both 3 kbps)",
        ({"bandwidth_kbps": 24.0}, {"bandwidth_kbps": 12.0}, {"bandwidth_kbps": 6.0},
         {"bandwidth_kbps": 3.0}, {"bandwidth_kbps": 3.0}),
    )
