"""Ready-made gate sets (plain strings, so they can be printed, extended and passed anywhere a gate goes).

:data:`ARTIFACTBENCH` holds every gate of the ArtifactBench protocol (ArtifactNet):

- codec-pair drift: mean per-clip Δ ≤ 0.15 and max Δ ≤ 0.35, where Δ is max − min of
  ``p_fake`` over the grid's codec-pair cells (``codec_pair`` in metrics.json);
- at the detector card's declared threshold (``output.threshold``), on clean audio:
  FPR on bona fide ≤ 0.05 and TPR on fake ≥ 0.90;
- regression against the saved baseline: FPR up by at most 3 points and TPR down by
  at most 5 points (paired, on the clips both runs scored).

ArtifactBench judges the point values and prints ``[FAIL]`` while exiting 0; here a
failed gate fails the test, and ``ci=`` can make the decision respect the CI.

>>> len(ARTIFACTBENCH)
6
>>> ARTIFACTBENCH_REGRESSION
('fpr_at_threshold[clean] <= baseline + 0.03', 'tpr_at_threshold[clean] >= baseline - 0.05')
"""

from __future__ import annotations

__all__ = ["ARTIFACTBENCH", "ARTIFACTBENCH_CODEC_PAIR", "ARTIFACTBENCH_OPERATING_POINT", "ARTIFACTBENCH_REGRESSION"]

#: Codec-pair probability drift (mean and max over clips of max − min p_fake across wav/mp3/aac/opus).
ARTIFACTBENCH_CODEC_PAIR: tuple[str, ...] = ("codec_pair.mean <= 0.15", "codec_pair.max <= 0.35")
#: Error rates at the card's declared threshold on clean audio.
ARTIFACTBENCH_OPERATING_POINT: tuple[str, ...] = ("fpr_at_threshold[clean] <= 0.05", "tpr_at_threshold[clean] >= 0.90")
#: Regression against a saved baseline (3 and 5 percentage points).
ARTIFACTBENCH_REGRESSION: tuple[str, ...] = (
    "fpr_at_threshold[clean] <= baseline + 0.03",
    "tpr_at_threshold[clean] >= baseline - 0.05",
)
#: All ArtifactBench gates.
ARTIFACTBENCH: tuple[str, ...] = ARTIFACTBENCH_CODEC_PAIR + ARTIFACTBENCH_OPERATING_POINT + ARTIFACTBENCH_REGRESSION
