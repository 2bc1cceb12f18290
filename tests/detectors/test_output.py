"""OutputSpec conventions: which number becomes raw_score and p_fake, and mismatch errors."""

from __future__ import annotations

import pytest
import torch

from audiostress.detectors import DetectorContractError, DetectorError, OutputSpec, load_detector
from audiostress.detectors.output import PROB_SLACK, OutputMismatch, aggregate, interpret

#: float64 arithmetic on the same numbers.
ATOL = 1e-12
LOGITS = torch.tensor([[2.0, -1.0], [-0.5, 3.0], [0.0, 0.0]], dtype=torch.float64)


def _aasist(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """AASIST-shaped: returns (hidden, logits) with logits index 1 = bona fide."""
    logits = LOGITS[: x.shape[0]].to(torch.float32)
    return torch.zeros(x.shape[0], 4), logits


def test_bonafide_logit_model_gives_one_minus_softmax_of_index_1():
    det = load_detector(_aasist, input={"length": 100}, output={"kind": "logits", "fake_index": 0, "select": 1})
    out = det(torch.zeros(3, 100))
    expected = 1 - torch.softmax(LOGITS, dim=1)[:, 1]
    torch.testing.assert_close(out.p_fake, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(out.raw_score, LOGITS[:, 0] - LOGITS[:, 1], atol=ATOL, rtol=0)


def test_bonafide_logit_as_score_with_higher_is_fake_false():
    spec = OutputSpec(kind="score", higher_is_fake=False, select=1, score_index=1)
    raw, p = interpret(_aasist(torch.zeros(3, 1)), spec, 3)
    torch.testing.assert_close(raw, -LOGITS[:, 1], atol=ATOL, rtol=0)  # published score, negated
    torch.testing.assert_close(p, torch.sigmoid(-LOGITS[:, 1]), atol=ATOL, rtol=0)


def test_multiclass_logits_raw_is_log_odds_of_fake():
    z = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64)
    raw, p = interpret(z, OutputSpec(fake_index=1), 1)
    torch.testing.assert_close(p, torch.softmax(z, 1)[:, 1], atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.sigmoid(raw), p, atol=ATOL, rtol=0)


def test_single_logit_probs_and_direction():
    z = torch.tensor([0.3, -2.0], dtype=torch.float64)
    raw, p = interpret(z.unsqueeze(1), OutputSpec(kind="logits"), 2)
    torch.testing.assert_close(p, torch.sigmoid(z), atol=ATOL, rtol=0)
    raw, p = interpret(z, OutputSpec(kind="logits", higher_is_fake=False), 2)
    torch.testing.assert_close(p, torch.sigmoid(-z), atol=ATOL, rtol=0)
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    raw, p = interpret(probs, OutputSpec(kind="probs", fake_index=1), 2)
    torch.testing.assert_close(p, probs[:, 1], atol=ATOL, rtol=0)
    torch.testing.assert_close(torch.sigmoid(raw), probs[:, 1], atol=1e-9, rtol=0)
    raw, p = interpret(torch.tensor([0.0, 1.0]), OutputSpec(kind="probs"), 2)
    assert torch.isfinite(raw).all() and raw[0] < -20 and raw[1] > 20


@pytest.mark.parametrize(
    ("output", "spec", "needle"),
    [
        (torch.zeros(3, 2), OutputSpec(), "set `output.fake_index` in 0..1"),
        ((torch.zeros(3, 4), torch.zeros(3, 2)), OutputSpec(fake_index=0), "set `output.select`"),
        (torch.zeros(3, 2), OutputSpec(fake_index=0, select=1), "expects a tuple output"),
        (torch.zeros(3, 2), OutputSpec(kind="score", higher_is_fake=True), "score_index"),
        (torch.full((3, 2), 2.0), OutputSpec(kind="probs", fake_index=0), "values in [0, 1]"),
        (torch.zeros(4, 2), OutputSpec(fake_index=0), "got shape [4, 2]"),
        (torch.zeros(3, 2, 2), OutputSpec(fake_index=0), "got shape [3, 2, 2]"),
    ],
)
def test_mismatches_say_what_was_expected(output, spec, needle):
    with pytest.raises(OutputMismatch) as info:
        interpret(output, spec, 3)
    assert needle in str(info.value)


def test_spec_validation_names_key_and_allowed_values():
    with pytest.raises(ValueError, match=r"`output.kind` in \{logits, probs, score\}, got 'prob'"):
        OutputSpec(kind="prob")
    with pytest.raises(ValueError, match="higher_is_fake"):
        OutputSpec(kind="score")


def test_aggregate_mean_and_max_keep_sigmoid_relation():
    raw = torch.tensor([-3.0, 0.0, 40.0], dtype=torch.float64)
    r, p = aggregate(raw, "mean")
    assert abs(p - float(torch.sigmoid(raw).mean())) < ATOL
    assert abs(float(torch.sigmoid(torch.tensor(r, dtype=torch.float64))) - p) < 1e-12
    r, p = aggregate(raw, "max")
    assert r == 40.0 and abs(p - float(torch.sigmoid(torch.tensor(40.0, dtype=torch.float64)))) < ATOL


def test_mismatch_becomes_detector_error_with_clip_ids():
    det = load_detector(lambda x: torch.zeros(x.shape[0], 2), input={"length": 10})
    with pytest.raises(DetectorError) as info:
        det.score([torch.zeros(1, 10)] * 2, 16000, clip_ids=["c1", "c2"])
    assert info.value.clip_ids == ["c1", "c2"] and "c1, c2" in str(info.value) and "fake_index" in str(info.value)


# -- contract errors (issue 10, 2c) ------------------------------------------------------------


def _fixed(out: torch.Tensor):
    return lambda x: out[: x.shape[0]]


@pytest.mark.parametrize(
    ("forward", "output", "needle"),
    [
        (_fixed(torch.zeros(2, 2)), {"fake_index": 5}, "`output.fake_index: 5` is out of range: the model returned 2"),
        (_fixed(torch.zeros(2, 3)), {"fake_index": 0, "num_classes": 2}, "`output.num_classes: 2`"),
        (_fixed(torch.full((2, 2), 3.0)), {"kind": "probs", "fake_index": 0}, "values in [0, 1]"),
        (lambda x: torch.zeros(x.shape[0] + 1, 2), {"fake_index": 0}, "got shape [3, 2]"),
        (lambda x: (torch.zeros(x.shape[0], 2),), {"fake_index": 0, "select": 3}, "`output.select: 3` is out of range"),
        (_fixed(torch.zeros(2, 3)), {"kind": "score", "higher_is_fake": True, "score_index": 4}, "score_index"),
    ],
)
def test_contract_breaks_raise_detector_contract_error(forward, output, needle):
    det = load_detector(forward, input={"length": 10}, output=output)
    with pytest.raises(DetectorContractError) as info:
        det.score([torch.zeros(1, 10), torch.zeros(1, 10)], 16000, clip_ids=["a", "b"])
    assert needle in str(info.value)
    assert info.value.clip_ids == ["a", "b"]
    assert isinstance(info.value, DetectorError)


def test_probs_within_rounding_slack_are_accepted_and_clamped():
    out = torch.tensor([[1.0 + PROB_SLACK / 2, -PROB_SLACK / 2]], dtype=torch.float64)
    det = load_detector(_fixed(out), input={"length": 10}, output={"kind": "probs", "fake_index": 0})
    p_fake = float(det.score([torch.zeros(1, 10)], 16000, clip_ids=["a"]).p_fake[0])
    assert 1.0 - 1e-9 < p_fake <= 1.0


def test_matching_num_classes_and_nan_are_not_contract_errors():
    det = load_detector(_fixed(torch.zeros(2, 2)), input={"length": 10}, output={"fake_index": 0, "num_classes": 2})
    assert det.score([torch.zeros(1, 10)], 16000, clip_ids=["a"]).p_fake.tolist() == [0.5]
    nan = load_detector(_fixed(torch.full((2, 2), float("nan"))), input={"length": 10}, output={"fake_index": 0})
    with pytest.raises(DetectorError) as info:
        nan.score([torch.zeros(1, 10)], 16000, clip_ids=["a"])
    assert not isinstance(info.value, DetectorContractError)


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("num_classes", 0, "`output.num_classes` to be null or an integer >= 1, got 0"),
        ("num_classes", 2.0, "`output.num_classes`"),
        ("threshold", 1.5, "`output.threshold` to be null or a number in [0, 1]"),
        ("threshold", True, "`output.threshold`"),
    ],
)
def test_num_classes_and_threshold_are_validated(key, value, needle):
    with pytest.raises(ValueError) as info:
        OutputSpec(fake_index=0, **{key: value})
    assert needle in str(info.value)
    assert OutputSpec(fake_index=0, num_classes=2, threshold=0).threshold == 0.0
