"""The ``Detector`` wrapper: InputSpec -> batched model calls -> OutputSpec -> per-clip scores.

Every loader (factory, TorchScript, ONNX, Hugging Face, plain callable) produces a
forward function ``[B, T] float32 on device -> output`` plus default specs; this
class does everything else the same way for all of them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..seeding import derive_seed, make_generator
from .output import NonFiniteOutput, OutputMismatch, aggregate, interpret
from .prepare import prepare_clip
from .spec import InputSpec, OutputSpec

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
#: How many clip ids an error message spells out before summarising the rest.
_IDS_IN_MESSAGE = 8


@dataclass
class Scores:
    """Per-clip scores: ``raw_score`` (log-odds of fake, higher = more fake) and ``p_fake`` in [0, 1].

    Both are float64 CPU tensors shaped ``[N]``; ``p_fake == sigmoid(raw_score)``.
    """

    raw_score: Tensor
    p_fake: Tensor

    def __len__(self) -> int:
        return int(self.p_fake.numel())


class DetectorError(RuntimeError):
    """A detector failed; names the detector, the clip ids of the batch and what was expected.

    ``clip_ids`` holds every id of the failing batch (the message shows the first few).
    """

    def __init__(self, detector: str, clip_ids: Sequence[str], expected: str) -> None:
        self.detector = detector
        self.clip_ids = [str(c) for c in clip_ids]
        self.expected = expected
        ids = ", ".join(self.clip_ids[:_IDS_IN_MESSAGE])
        if len(self.clip_ids) > _IDS_IN_MESSAGE:
            ids += f", ... ({len(self.clip_ids)} clips)"
        where = f" on clips [{ids}]" if self.clip_ids else ""
        super().__init__(f"Detector {detector!r}{where}: {expected}")


class DetectorContractError(DetectorError):
    """The model output broke the OutputSpec contract (shape, class count, range, index).

    A contract error belongs to the model, not to the clips of the batch: scoring
    the same clips one by one would break it the same way (or, worse, pass by
    chance), so callers should fail the whole batch instead of retrying items.
    """


class DetectorLoadError(DetectorError):
    """A detector could not be loaded (bad spec, checkpoint, missing optional dependency)."""

    def __init__(self, detector: str, message: str) -> None:
        super().__init__(detector, (), message)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower() and "cuda" in str(exc).lower()


class Detector:
    """A loaded detector. Build one with ``load_detector``; call ``score`` on clips.

    ``forward`` maps ``[B, T]`` float32 audio on ``device`` to the model output
    that ``output`` describes. ``provenance`` holds loader facts for ``describe``;
    ``spec`` is the ``DetectorSpec`` it was loaded from (None when built by hand).
    """

    def __init__(
        self,
        forward: Callable[[Tensor], Any],
        *,
        name: str,
        input: InputSpec | None = None,
        output: OutputSpec | None = None,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        batch_size: int = 16,
        provenance: dict[str, Any] | None = None,
        spec: Any = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"Expected `precision` in {{{', '.join(PRECISIONS)}}}, got {precision!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Expected `batch_size` to be a positive integer, got {batch_size!r}")
        self.name = name
        self.input = input or InputSpec()
        self.output = output or OutputSpec()
        self.device = torch.device(device)
        self.precision = precision
        self.batch_size = batch_size
        self.provenance = dict(provenance or {})
        #: The ``DetectorSpec`` that built this detector (None when it was built by hand).
        self.spec = spec
        self._forward = forward
        self._batch_limit = batch_size

    @property
    def sample_rate(self) -> int:
        """The rate the model expects (``input.sample_rate``)."""
        return self.input.sample_rate

    # -- public entry points --------------------------------------------------------------

    def score(
        self,
        audio: Sequence[Tensor],
        sample_rate: int,
        *,
        clip_ids: Sequence[str],
        generators: Sequence[torch.Generator] | None = None,
    ) -> Scores:
        """Score clips given as ``[C, T_i]`` tensors (any device) at ``sample_rate``.

        Applies the InputSpec (resample, downmix, crop/pad or windows; ``random``
        crops draw from ``generators[i]``, or from a generator derived from the
        clip id when none is given), runs the model in batches of at most
        ``batch_size`` windows, applies the OutputSpec and aggregates windows per
        clip. Raises ``DetectorError`` naming the clip ids of a failing batch, and
        its subclass ``DetectorContractError`` when the output breaks the
        OutputSpec (shape, ``num_classes``, ``fake_index``/``select``/``score_index``
        range, ``kind: probs`` outside [0, 1]).
        """
        clips = list(audio)
        ids = [str(c) for c in clip_ids]
        if len(ids) != len(clips):
            raise ValueError(f"Expected one clip id per clip ({len(clips)}), got {len(ids)}")
        if generators is not None and len(generators) != len(clips):
            raise ValueError(f"Expected one generator per clip ({len(clips)}), got {len(generators)}")
        windows: list[Tensor] = []
        owners: list[int] = []
        for i, clip in enumerate(clips):
            gen = None
            if self.input.crop == "random":
                gen = generators[i] if generators is not None else make_generator(derive_seed("crop", ids[i]))
            try:
                pieces = prepare_clip(clip, sample_rate, self.input, gen)
            except ValueError as exc:
                raise DetectorError(self.name, [ids[i]], str(exc)) from exc
            windows.extend(pieces)
            owners.extend([i] * len(pieces))
        raw = self._run(windows, owners, ids)
        raw_out = torch.empty(len(clips), dtype=torch.float64)
        p_out = torch.empty(len(clips), dtype=torch.float64)
        owner_t = torch.tensor(owners, dtype=torch.long)
        for i in range(len(clips)):
            r, p = aggregate(raw[owner_t == i], self.input.aggregate)
            raw_out[i], p_out[i] = r, p
        return Scores(raw_score=raw_out, p_fake=p_out)

    def __call__(self, audio: Tensor) -> Scores:
        """Score ``[B, T]`` mono audio already at ``sample_rate`` and already length-prepared."""
        if not isinstance(audio, Tensor) or audio.dim() != 2 or not audio.is_floating_point():
            raise ValueError(
                f"Detector {self.name!r}: expected float audio shaped [B, T], got "
                f"{list(audio.shape) if isinstance(audio, Tensor) else type(audio).__name__}"
            )
        ids = [str(i) for i in range(audio.shape[0])]
        raw = self._run(list(audio.to(torch.float32)), list(range(audio.shape[0])), ids)
        return Scores(raw_score=raw, p_fake=torch.sigmoid(raw))

    def describe(self) -> dict[str, Any]:
        """Provenance: name, spec, checkpoint (+ sha256), kwargs, input, output, precision, device."""
        info: dict[str, Any] = {"name": self.name, "spec": None, "checkpoint": None, "checkpoint_sha256": None, "kwargs": {}}
        info.update(self.provenance)
        info.update(
            {
                "input": self.input.to_dict(),
                "output": self.output.to_dict(),
                "precision": self.precision,
                "device": str(self.device),
                "batch_size": self.batch_size,
            }
        )
        return info

    def __repr__(self) -> str:
        return f"Detector(name={self.name!r}, sample_rate={self.sample_rate}, device={str(self.device)!r})"

    # -- batching ---------------------------------------------------------------------------

    def _run(self, windows: list[Tensor], owners: list[int], ids: list[str]) -> Tensor:
        """Raw scores (float64 CPU) for every window, batching windows of equal length."""
        raw = torch.empty(len(windows), dtype=torch.float64)
        groups: dict[int, list[int]] = {}
        for k, w in enumerate(windows):
            groups.setdefault(int(w.shape[-1]), []).append(k)
        for members in groups.values():
            start = 0
            while start < len(members):
                chunk = members[start : start + self._batch_limit]
                batch_ids = sorted({ids[owners[k]] for k in chunk}, key=ids.index)
                try:
                    raw[chunk] = self._run_batch([windows[k] for k in chunk], batch_ids)
                except torch.OutOfMemoryError:
                    self._shrink(len(chunk), batch_ids)
                    continue
                start += len(chunk)
        return raw

    def _shrink(self, size: int, batch_ids: list[str]) -> None:
        if size <= 1:
            raise DetectorError(self.name, batch_ids, "ran out of device memory even at batch size 1")
        self._batch_limit = max(1, size // 2)
        warnings.warn(
            f"Detector {self.name!r}: CUDA out of memory at batch size {size}; "
            f"retrying with batch size {self._batch_limit}",
            RuntimeWarning,
            stacklevel=3,
        )
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _run_batch(self, pieces: list[Tensor], batch_ids: list[str]) -> Tensor:
        x = torch.stack([p.to(self.device, torch.float32) for p in pieces])
        dtype = PRECISIONS[self.precision]
        amp = torch.autocast(self.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        try:
            with torch.inference_mode(), amp:
                out = self._forward(x)
        except Exception as exc:
            if _is_oom(exc):
                raise torch.OutOfMemoryError(str(exc)) from exc
            raise DetectorError(
                self.name,
                batch_ids,
                f"expected the model to accept input {list(x.shape)} on {self.device}; "
                f"it raised {type(exc).__name__}: {exc}",
            ) from exc
        try:
            raw, _ = interpret(out, self.output, x.shape[0])
        except NonFiniteOutput as exc:  # may come from one clip: callers may isolate it
            raise DetectorError(self.name, batch_ids, str(exc)) from exc
        except OutputMismatch as exc:
            raise DetectorContractError(self.name, batch_ids, str(exc)) from exc
        return raw
