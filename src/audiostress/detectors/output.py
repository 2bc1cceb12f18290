"""Turn a model's raw output into ``(raw_score, p_fake)`` following an ``OutputSpec``.

Definition used everywhere in audiostress: **``raw_score`` is the log-odds that
the clip is fake as the model itself states it, oriented so higher = more fake,
and ``p_fake = sigmoid(raw_score)``.** Concretely:

- ``logits`` ``[B, K]``: ``raw = z[fake] - logsumexp(z[others])`` (for two classes
  simply ``z[fake] - z[other]``), so ``p_fake = softmax(z)[fake]`` exactly.
  AASIST (index 1 = bona fide) with ``fake_index: 0`` gives ``p_fake = 1 - softmax[1]``.
- ``logits`` ``[B]`` / ``[B, 1]``: the single logit (negated if ``higher_is_fake: false``).
- ``probs``: ``raw = log(p) - log(1 - p)`` of the fake probability (clamped to
  ``PROB_EPS`` so that 0 and 1 stay finite).
- ``score``: the chosen number itself (negated if ``higher_is_fake: false``);
  ``p_fake`` is its sigmoid, which keeps ranking metrics (EER, AUROC) exact
  but is only a calibrated probability when the score is a true log-odds.

Because ``p_fake`` is a monotone function of ``raw_score``, EER/AUROC are the same on either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .spec import OutputSpec

#: Probabilities are clamped to [PROB_EPS, 1 - PROB_EPS] before the log-odds so 0/1 stay finite.
PROB_EPS = 1e-12
#: Probabilities may stray this far outside [0, 1] (float rounding in the model) before it is an error.
PROB_SLACK = 1e-4


class OutputMismatch(ValueError):
    """The model output does not match the OutputSpec; the message says what was expected."""


class NonFiniteOutput(OutputMismatch):
    """The model returned NaN or Inf (often for one clip only, unlike the other mismatches)."""


def _pick(output: Any, spec: OutputSpec) -> Any:
    if isinstance(output, Mapping) and not isinstance(output, Tensor):
        if "logits" in output and spec.select is None:
            return output["logits"]
        raise OutputMismatch(
            f"model returned a mapping with keys {sorted(map(str, output))}; "
            "expected a tensor (a mapping is read only through its 'logits' key)"
        )
    if isinstance(output, Sequence) and not isinstance(output, (Tensor, str)):
        if spec.select is None:
            if len(output) == 1:
                return output[0]
            raise OutputMismatch(
                f"model returned a {type(output).__name__} of {len(output)} elements; "
                "set `output.select` to the index of the scores (AASIST: 1)"
            )
        if not -len(output) <= spec.select < len(output):
            raise OutputMismatch(
                f"`output.select: {spec.select}` is out of range for a {type(output).__name__} "
                f"of {len(output)} elements"
            )
        return output[spec.select]
    if spec.select is not None:
        raise OutputMismatch(
            f"`output.select: {spec.select}` expects a tuple output, but the model returned "
            f"{type(output).__name__}"
        )
    return output


def _as_tensor(value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().to(device="cpu", dtype=torch.float64)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.asarray(value, dtype=np.float64))
    raise OutputMismatch(f"expected a tensor of scores, got {type(value).__name__}")


def _expected(spec: OutputSpec, batch: int) -> str:
    if spec.kind == "score":
        return f"[{batch}] or [{batch}, K] scores"
    return f"[{batch}, K] {spec.kind} (or [{batch}] for a single value)"


def interpret(output: Any, spec: OutputSpec, batch: int) -> tuple[Tensor, Tensor]:
    """``(raw_score, p_fake)``, both float64 CPU ``[batch]``; raises ``OutputMismatch``."""
    x = _as_tensor(_pick(output, spec))
    if x.dim() == 0 or x.shape[0] != batch or x.dim() > 2:
        raise OutputMismatch(f"expected {_expected(spec, batch)}, got shape {list(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).reshape(batch, -1).any(dim=1).sum())
        raise NonFiniteOutput(f"expected finite outputs, got NaN or Inf for {bad} of {batch} inputs")
    columns = 1 if x.dim() == 1 else x.shape[1]
    if spec.num_classes is not None and columns != spec.num_classes:
        raise OutputMismatch(
            f"`output.num_classes: {spec.num_classes}` but the model returned {columns} "
            f"{'column' if columns == 1 else 'columns'} per input (shape {list(x.shape)}); "
            "fix `output.num_classes` or the checkpoint"
        )
    single = x.reshape(batch) if columns == 1 else None
    sign = -1.0 if spec.higher_is_fake is False else 1.0

    if spec.kind == "score":
        if single is None:
            if spec.score_index is None or spec.score_index >= columns:
                raise OutputMismatch(
                    f"model returned {columns} columns; set `output.score_index` in 0..{columns - 1} "
                    f"to the column that holds the score, got {spec.score_index!r}"
                )
            single = x[:, spec.score_index]
        raw = sign * single
        return raw, torch.sigmoid(raw)

    if single is not None:
        if spec.fake_index not in (None, 0):
            raise OutputMismatch(
                f"`output.fake_index: {spec.fake_index}` needs {spec.fake_index + 1}+ columns, "
                f"but the model returned one value per input"
            )
        if spec.kind == "logits":
            raw = sign * single
            return raw, torch.sigmoid(raw)
        p = _check_probs(single)
        p = p if sign > 0 else 1.0 - p
        return _log_odds(p), p

    if spec.fake_index is not None and spec.fake_index >= columns:
        raise OutputMismatch(
            f"`output.fake_index: {spec.fake_index}` is out of range: the model returned {columns} "
            f"{spec.kind} per input; set it in 0..{columns - 1} to the fake class "
            "(AASIST-style, index 1 = bona fide: 0)"
        )
    if spec.fake_index is None:
        raise OutputMismatch(
            f"model returned {columns} {spec.kind} per input; set `output.fake_index` in "
            f"0..{columns - 1} to the fake class (AASIST-style, index 1 = bona fide: 0), "
            f"got {spec.fake_index!r}"
        )
    f = spec.fake_index
    others = torch.cat([x[:, :f], x[:, f + 1 :]], dim=1)
    if spec.kind == "logits":
        raw = x[:, f] - torch.logsumexp(others, dim=1)
        return raw, torch.sigmoid(raw)
    p = _check_probs(x[:, f])
    return _log_odds(p), p


def _check_probs(p: Tensor) -> Tensor:
    if bool((p < -PROB_SLACK).any()) or bool((p > 1 + PROB_SLACK).any()):
        raise OutputMismatch(
            f"`output.kind: probs` expects values in [0, 1], got range "
            f"[{float(p.min()):.4g}, {float(p.max()):.4g}] (use kind logits or score)"
        )
    return p.clamp(0.0, 1.0)


def _log_odds(p: Tensor) -> Tensor:
    q = p.clamp(PROB_EPS, 1.0 - PROB_EPS)
    return torch.log(q) - torch.log1p(-q)


def aggregate(raw: Tensor, how: str) -> tuple[float, float]:
    """Combine one clip's window log-odds into ``(raw_score, p_fake)``.

    ``p_fake`` is the ``mean`` or ``max`` of the window p_fake values. ``raw_score``
    follows it so that ``p_fake = sigmoid(raw_score)`` still holds: for ``max`` the
    raw score of the winning window, for ``mean`` the log-odds of the mean
    probability, computed stably as ``logmeanexp(logsigmoid(r)) - logmeanexp(logsigmoid(-r))``.
    """
    if raw.numel() == 1:
        r = float(raw.reshape(()))
        return r, float(torch.sigmoid(raw.reshape(())))
    if how == "max":
        best = raw.max()
        return float(best), float(torch.sigmoid(best))
    n = float(raw.numel())
    log_p = torch.logsumexp(torch.nn.functional.logsigmoid(raw), dim=0) - np.log(n)
    log_q = torch.logsumexp(torch.nn.functional.logsigmoid(-raw), dim=0) - np.log(n)
    p = float(torch.sigmoid(raw).mean())
    return float(log_p - log_q), p
