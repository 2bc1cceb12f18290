"""The shared base of neural-codec corruptions: what any learned codec needs around its model.

A neural codec (EnCodec today; DAC or SNAC would be the next) is a model that codes
``[N, ch, L]`` audio at its own rate. Everything around that one call lives here:

1. **channel layout**: ``[B, C, T]`` is packed into model rows. A mono model
   (``model_channels = 1``) codes every channel on its own (``[B*C, 1, T]``); a
   stereo model codes channel pairs (0, 1), (2, 3), ... and an odd last channel
   (mono included) is duplicated into a pair whose two decoded channels are
   averaged back into one;
2. **resampling** to the model rate and back (``torchaudio.functional.resample``),
   so a model never hears audio at a rate it was not trained on;
3. **chunking**: clips longer than ``chunk_s`` are cut into chunks overlapping by
   ``overlap_fraction`` of a chunk, every chunk of the batch goes through one model
   call, and chunks are joined with complementary linear crossfades (they sum to
   exactly 1), so memory is bounded and a chunked identity model returns its input;
4. **length**: the decoded rows are cropped or zero-padded to exactly ``T`` samples;
5. **length grouping**: the model's padding and the chunk layout both depend on the
   input length, so items of a padded batch are grouped by valid length and each
   length is coded on its own (equal lengths still share one call); a padded item
   equals the same clip run alone;
6. an **empty batch** (no items, channels or samples) passes through as a copy;
7. a **model cache** keyed by (model rate, weights file, device), and the
   ``describe``/``provenance`` scaffolding (package version, model rate, weights file).

A subclass of ``NeuralCodec`` sets ``name``, ``params``, ``levels``, ``model_rate``,
``model_channels`` and ``package``, and implements ``load`` (the cached model for a
device), ``code`` (one model call at the model rate), ``weights_file`` and, if it
has something to add, ``weights_info``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

import torch
import torchaudio.functional as AF
from torch import Tensor

from ..corruptions.base import Corruption
from ..corruptions.params import Param

#: Overlap between consecutive chunks, as a fraction of the chunk (``encodec``'s default).
OVERLAP_FRACTION = 0.01

#: One model call over ``[N, ch, L]`` rows at the model rate, returning the same shape.
CodeFn = Callable[[Tensor], Tensor]


def weights_path_param(env_var: str) -> Param:
    """The optional ``weights_path`` parameter whose default is ``$env_var``, then the hub cache."""
    return Param(
        "weights_path",
        None,
        str,
        optional=True,
        help=f"checkpoint file or directory; default: ${env_var}, then the torch hub cache",
    )


def chunk_param(default_s: float) -> Param:
    """The ``chunk_s`` parameter (seconds per model call; chunks overlap by 1 %)."""
    return Param("chunk_s", default_s, float, low=0.1, high=600.0, unit="s", help="chunk length (1% overlap crossfade)")


def pack_channels(audio: Tensor, model_channels: int) -> Tensor:
    """``[B, C, T]`` -> ``[N, model_channels, T]`` model rows (see the module docstring)."""
    b, c, t = audio.shape
    if model_channels == 1:
        return audio.reshape(b * c, 1, t)
    if c % 2:
        audio = torch.cat([audio, audio[:, -1:]], dim=1)
    return audio.reshape(-1, 2, t)


def unpack_channels(rows: Tensor, batch: int, channels: int, model_channels: int) -> Tensor:
    """Inverse of ``pack_channels``; an odd channel's duplicated pair is averaged back."""
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


def code_chunked(code: CodeFn, x: Tensor, chunk: int, overlap_fraction: float = OVERLAP_FRACTION) -> Tensor:
    """Run ``code`` over ``x`` ``[N, ch, L]`` in overlapping chunks joined by linear crossfades."""
    n = x.shape[-1]
    if n <= chunk:
        return code(x)
    overlap = max(1, int(overlap_fraction * chunk))
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
        # Out of place: a model may hand back a view of its input.
        out[..., start:stop] += code(x[..., start:stop]) * weight
    return out


def fit_length(x: Tensor, n: int) -> Tensor:
    """Crop or zero-pad the last axis of ``x`` to exactly ``n`` samples (at the end)."""
    if x.shape[-1] >= n:
        return x[..., :n]
    return torch.nn.functional.pad(x, (0, n - x.shape[-1]))


def neural_roundtrip(
    code: CodeFn,
    audio: Tensor,
    sample_rate: int,
    model_rate: int,
    model_channels: int,
    chunk_s: float,
    overlap_fraction: float = OVERLAP_FRACTION,
) -> Tensor:
    """Code ``audio`` ``[B, C, T]`` at ``sample_rate`` through ``code``; same shape and dtype.

    Packs channels, resamples to ``model_rate``, runs ``code`` chunk by chunk in
    inference mode, resamples back and fits the length to ``T``. Every item is coded
    as ``T`` samples long: crop padded items first (see ``code_by_length``).

    >>> x = torch.linspace(-0.5, 0.5, 800).reshape(1, 1, 800)
    >>> y = neural_roundtrip(lambda rows: rows, x, 8000, 8000, 1, chunk_s=0.02)
    >>> bool(torch.allclose(y, x, atol=1e-6))
    True
    """
    b, c, t = audio.shape
    if b == 0 or c == 0 or t == 0:
        return audio.clone()
    rows = pack_channels(audio.to(torch.float32), model_channels)
    if sample_rate != model_rate:
        rows = AF.resample(rows, sample_rate, model_rate)
    chunk = max(1, int(round(chunk_s * model_rate)))
    with torch.inference_mode():
        coded = code_chunked(code, rows, chunk, overlap_fraction)
    coded = coded.clone()  # leave inference mode: callers may need autograd-free normal tensors
    if sample_rate != model_rate:
        coded = AF.resample(coded, model_rate, sample_rate)
    coded = fit_length(coded, t)
    return unpack_channels(coded, b, c, model_channels).to(audio.dtype)


def code_by_length(roundtrip: Callable[[Tensor], Tensor], audio: Tensor, lengths: Tensor) -> Tensor:
    """Apply ``roundtrip`` to each group of equal valid length, cropped to it; padding stays zero."""
    t = audio.shape[-1]
    if bool((lengths == t).all()):
        return roundtrip(audio)
    out = torch.zeros_like(audio)
    for n in sorted(set(lengths.tolist())):
        idx = (lengths == n).nonzero().flatten().to(audio.device)
        out[idx, :, :n] = roundtrip(audio[idx, :, :n])
    return out


class ModelCache:
    """Models built once per process, keyed by (model rate, resolved weights file, device).

    Thread-safe: a model is built under the lock, so two threads never build the same one.
    """

    def __init__(self) -> None:
        self._models: dict[tuple[int, str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, model_rate: int, file: str, device: torch.device | str, build: Callable[[], Any]) -> Any:
        """The cached model for the key, calling ``build()`` on the first request."""
        key = (model_rate, file, str(torch.device(device)))
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = build()
                self._models[key] = model
        return model

    def clear(self) -> None:
        """Forget every cached model (tests; freeing device memory)."""
        with self._lock:
            self._models.clear()


class NeuralCodec(Corruption):
    """Base of neural-codec corruptions: resample, chunk, group by length, code, resample back.

    Subclasses set ``model_rate`` (Hz the model codes at), ``model_channels`` (1: each
    channel alone; 2: channel pairs), ``package`` (the distribution whose version is
    reported) and implement ``load``, ``code`` and ``weights_file``. Parameters named
    ``chunk_s`` and (optionally) ``weights_path`` are read by the base.
    """

    family = "neural_codec"
    placement = "device"
    model_rate: ClassVar[int] = 24000
    model_channels: ClassVar[int] = 1
    overlap_fraction: ClassVar[float] = OVERLAP_FRACTION
    package: ClassVar[str] = ""

    # -- what a subclass provides -------------------------------------------------------
    def load(self, device: torch.device, weights_path: str | None) -> Any:
        """The model in eval mode on ``device`` (cached; see ``ModelCache``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement load")

    def code(self, model: Any, rows: Tensor, **params: Any) -> Tensor:
        """One model call over ``rows`` ``[N, model_channels, L]`` at ``model_rate``; same shape."""
        raise NotImplementedError(f"{type(self).__name__} must implement code")

    def weights_file(self) -> str | None:
        """The weights file this instance would load, or ``None``; never downloads."""
        return None

    @classmethod
    def weights_info(cls) -> dict[str, Any]:
        """Extra ``describe`` entries about where the weights are looked for."""
        return {}

    # -- the shared pipeline --------------------------------------------------------------
    def transform_group(
        self,
        audio: Tensor,
        sample_rate: int,
        generators: list[torch.Generator],
        lengths: Tensor,
        **params: Any,
    ) -> Tensor:
        """Group ``audio`` by valid length and code each group through ``code``; see the module docstring.

        ``chunk_s`` and ``weights_path`` are taken from ``params``; the rest go to ``code``.
        """
        chunk_s = params.pop("chunk_s")
        weights_path = params.pop("weights_path", None)
        model = self.load(audio.device, weights_path)

        def roundtrip(group: Tensor) -> Tensor:
            return neural_roundtrip(
                lambda rows: self.code(model, rows, **params),
                group,
                sample_rate,
                self.model_rate,
                self.model_channels,
                chunk_s,
                self.overlap_fraction,
            )

        return code_by_length(roundtrip, audio, lengths)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The registry description plus the model rate and where its weights are looked for."""
        info = super().describe()
        info["model_rate_hz"] = cls.model_rate
        info.update(cls.weights_info())
        return info

    def provenance(self) -> dict[str, Any]:
        """What this configured instance runs: codec, package version, model rate and weights file."""
        try:
            package: str | None = version(self.package)
        except (PackageNotFoundError, ValueError):
            package = None
        return {
            "codec": self.name,
            "backend": self.package,
            "versions": {self.package: package, "torch": torch.__version__},
            "model_rate_hz": self.model_rate,
            "weights": self.weights_file(),
        }
