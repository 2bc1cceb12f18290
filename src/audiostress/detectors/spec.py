"""InputSpec and OutputSpec: how audio reaches a detector and how its output becomes a score.

Both are frozen dataclasses validated on construction; every error names the key
(as written in a detector card, e.g. ``input.crop``), the value and the allowed
values. ``from_mapping`` builds one from a card section and rejects unknown keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

CHANNELS = ("mean", "first")
PADS = ("repeat", "zero")
CROPS = ("first", "center", "random", "windows")
AGGREGATES = ("mean", "max")
KINDS = ("logits", "probs", "score")
#: What ``pad`` / ``crop`` become when a ``length`` is given without them (AASIST/RawNet2).
DEFAULT_PAD = "repeat"
DEFAULT_CROP = "first"


def _choice(section: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"Expected `{section}.{key}` in {{{', '.join(allowed)}}}, got {value!r}")


def _opt_int(section: str, key: str, value: Any, low: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"Expected `{section}.{key}` to be null or an integer >= {low}, got {value!r}")


def _opt_bool(section: str, key: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"Expected `{section}.{key}` to be null, true or false, got {value!r}")


def _from_mapping(cls: type, section: str, data: Mapping[str, Any] | None) -> Any:
    data = dict(data or {})
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(
            f"Unknown key `{section}.{unknown[0]}`; allowed keys are {', '.join(allowed)}"
        )
    return cls(**data)


@dataclass(frozen=True)
class InputSpec:
    """How clips are turned into model inputs ``[B, length]`` at ``sample_rate``.

    - ``channels``: ``mean`` averages channels, ``first`` keeps channel 0.
    - ``length``: samples per model input; ``None`` (the default) feeds each clip
      whole, so no model is silently scored on an excerpt. AASIST-style models
      declare ``length: 64600`` (about 4 s at 16 kHz) in their card.
    - ``pad``: shorter audio is tiled (``repeat``, as AASIST/RawNet2 do) or zero-padded.
    - ``crop``: longer audio keeps the ``first`` or ``center`` samples, a ``random``
      seeded excerpt, or is cut into ``windows`` of ``length`` every ``hop`` samples
      (default ``hop = length``); per-window p_fake is aggregated by ``aggregate``.

    ``pad`` and ``crop`` only apply with a ``length``: left unset they stay ``None``
    for a whole clip, and become ``repeat`` / ``first`` (``DEFAULT_PAD``,
    ``DEFAULT_CROP``: the AASIST convention) once a ``length`` is given.
    """

    sample_rate: int = 16000
    channels: str = "mean"
    length: int | None = None
    pad: str | None = None
    crop: str | None = None
    hop: int | None = None
    aggregate: str = "mean"

    def __post_init__(self) -> None:
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int) or self.sample_rate <= 0:
            raise ValueError(f"Expected `input.sample_rate` to be a positive integer (Hz), got {self.sample_rate!r}")
        _choice("input", "channels", self.channels, CHANNELS)
        _opt_int("input", "length", self.length, 1)
        if self.length is not None:
            object.__setattr__(self, "pad", DEFAULT_PAD if self.pad is None else self.pad)
            object.__setattr__(self, "crop", DEFAULT_CROP if self.crop is None else self.crop)
        if self.pad is not None:
            _choice("input", "pad", self.pad, PADS)
        if self.crop is not None:
            _choice("input", "crop", self.crop, CROPS)
        _opt_int("input", "hop", self.hop, 1)
        _choice("input", "aggregate", self.aggregate, AGGREGATES)
        if self.crop in ("windows", "random", "center") and self.length is None:
            raise ValueError(f"`input.crop: {self.crop}` needs `input.length` (samples), got null")

    @property
    def window_hop(self) -> int:
        """The hop between windows in samples (``hop`` or ``length``)."""
        if self.length is None:
            raise ValueError("`input.hop` needs `input.length`")
        return self.hop if self.hop is not None else self.length

    def windows(self, n_samples: int) -> int:
        """How many model inputs a clip of ``n_samples`` (at ``sample_rate``) becomes."""
        if self.length is None or self.crop != "windows":
            return 1
        return 1 + -(-max(0, int(n_samples) - self.length) // self.window_hop)

    def describe(self) -> str:
        """One line for logs: ``16000 Hz, whole clip`` or ``16000 Hz, 64600 samples (crop first, pad repeat)``."""
        if self.length is None:
            return f"{self.sample_rate} Hz, whole clip"
        crop = f"windows every {self.window_hop}, {self.aggregate}" if self.crop == "windows" else f"crop {self.crop}"
        return f"{self.sample_rate} Hz, {self.length} samples ({crop}, pad {self.pad})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> InputSpec:
        """Build from a card's ``input:`` section (unknown keys are errors)."""
        return _from_mapping(cls, "input", data)


@dataclass(frozen=True)
class OutputSpec:
    """How a model's output becomes ``raw_score`` and ``p_fake`` (see ``output.py``).

    - ``kind``: ``logits`` (softmax over classes, or sigmoid of a single logit),
      ``probs`` (probabilities; the fake column is read), ``score`` (one real
      number per clip whose direction is ``higher_is_fake``).
    - ``fake_index``: the fake class column of a multi-class ``logits``/``probs``
      output. AASIST-style models (index 1 = bona fide) use ``fake_index: 0``.
    - ``higher_is_fake``: direction of a single score/logit/probability; required
      for ``kind: score``; defaults to true for a single logit or probability.
    - ``select``: index of the element to use when the model returns a tuple/list
      (AASIST returns ``(hidden, logits)`` -> ``select: 1``).
    - ``score_index``: for ``kind: score`` on a ``[B, K]`` output, the column that
      holds the score (AASIST's published score is column 1, higher = bona fide).
    - ``fake_label``: ``hf:`` only; the ``config.id2label`` name of the fake class.
    - ``num_classes``: the number of columns the model returns per input
      (``[B, K]`` -> K; one value per input counts as 1). When given, any other
      count is a contract error; null accepts whatever the model returns.
    - ``threshold``: an operating point on ``p_fake`` in [0, 1] that the card
      declares (null: none; metrics use the clean EER threshold).
    """

    kind: str = "logits"
    fake_index: int | None = None
    higher_is_fake: bool | None = None
    select: int | None = None
    score_index: int | None = None
    fake_label: str | None = None
    num_classes: int | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        _choice("output", "kind", self.kind, KINDS)
        _opt_int("output", "num_classes", self.num_classes, 1)
        if self.threshold is not None:
            t = self.threshold
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= float(t) <= 1.0:
                raise ValueError(f"Expected `output.threshold` to be null or a number in [0, 1] (p_fake), got {t!r}")
            object.__setattr__(self, "threshold", float(t))
        _opt_int("output", "fake_index", self.fake_index, 0)
        _opt_bool("output", "higher_is_fake", self.higher_is_fake)
        if self.select is not None and (isinstance(self.select, bool) or not isinstance(self.select, int)):
            raise ValueError(f"Expected `output.select` to be null or an integer index, got {self.select!r}")
        _opt_int("output", "score_index", self.score_index, 0)
        if self.fake_label is not None and not isinstance(self.fake_label, str):
            raise ValueError(f"Expected `output.fake_label` to be null or a label name, got {self.fake_label!r}")
        if self.kind == "score" and self.higher_is_fake is None:
            raise ValueError(
                "`output.kind: score` needs `output.higher_is_fake: true|false` "
                "(the direction of the score; AASIST's bona fide logit is false)"
            )
        if self.kind == "score" and self.fake_index is not None:
            raise ValueError(
                "`output.fake_index` applies to kind logits|probs; for `kind: score` "
                "name the score column with `output.score_index`"
            )
        if self.kind != "score" and self.score_index is not None:
            raise ValueError("`output.score_index` applies only to `output.kind: score`")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> OutputSpec:
        """Build from a card's ``output:`` section (unknown keys are errors)."""
        return _from_mapping(cls, "output", data)
