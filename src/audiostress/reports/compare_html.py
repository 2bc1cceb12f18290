"""The multi-detector part of the page, from ``comparison.json`` (:func:`.comparison.compare_sweeps`).

A banner says what differs between the sweeps and that the numbers below are on
the intersection of clips and cells; the ranking is by the mean EER over the
clean cell and every common cell (lower = better) with the mean flip rate beside
it; a detector that is not significantly better than the one ranked below it
(the paired bootstrap CI of the score difference includes 0) carries
:data:`NOT_SIGNIFICANT_MARK`. The pairwise table lists every pair's paired
difference with its CI and McNemar's exact test on the clean decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .html_sections import badge, esc
from .tables import fmt_ci, fmt_num, is_number

#: After a ranked detector whose lead over the next one is not significant.
NOT_SIGNIFICANT_MARK = "≈"


def comparability_banner(comp: Mapping[str, Any]) -> str:
    """The banner: what differs (one line each) and the intersection used; a short note when comparable."""
    common = (f"{esc(comp.get('common_clips', '?'))} common clips × {esc(comp.get('common_cells', '?'))} common "
              "corrupted cells (plus clean)")
    found = comp.get("dropped")
    dropped: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    extra = ""
    if dropped.get("cells"):
        extra += f" Cells left out: {esc(', '.join(str(c) for c in dropped['cells']))}."
    if is_number(dropped.get("clips_with_failures")) and dropped["clips_with_failures"] > 0:
        extra += f" {esc(dropped['clips_with_failures'])} shared clip(s) left out because a pair of them failed."
    diffs = [d for d in comp.get("differences") or [] if isinstance(d, Mapping)]
    if not diffs:
        return (f'<p class="legend" data-key="comparability" data-comparable="1">The sweeps are comparable (same clips, '
                f"cells, seed and corruption rate); ranking and tests use {common}.{extra}</p>")
    items = "".join(f'<li data-what="{esc(d.get("what"))}"><strong>{esc(d.get("what"))}</strong>: {esc(d.get("message"))}</li>'
                    for d in diffs)
    return (f'<div class="warning" data-key="comparability" data-comparable="0"><strong>These sweeps are not directly '
            f"comparable.</strong><ul>{items}</ul>Ranking and significance below use only the intersection: {common}."
            f"{extra}</div>")


def comparison_ranking_html(comp: Mapping[str, Any]) -> str:
    """The ranking table (rank, score, mean flip rate, clean EER, mean ΔEER, mCE when a reference was given)."""
    ranking = [r for r in comp.get("ranking") or [] if isinstance(r, Mapping)]
    with_ref = any(r.get("mce") is not None for r in ranking)
    rows = []
    for r in ranking:
        mark = (f' <span class="smalln" data-key="not_significant" title="not significantly better than the next '
                f'detector (paired bootstrap CI of the difference includes 0)">{NOT_SIGNIFICANT_MARK}</span>'
                if r.get("significant_vs_next") is False else "")
        ref = (f'<td class="num">{fmt_num(r.get("mce"))}</td><td class="num">{fmt_num(r.get("relative_mce"))}</td>'
               if with_ref else "")
        rows.append(f'<tr data-detector="{esc(r.get("detector"))}"><td>{esc(r.get("rank"))}</td>'
                    f'<td>{esc(r.get("detector"))}{mark}</td>'
                    f'<td class="num" data-key="score" data-value="{esc(r.get("score"))}">{fmt_num(r.get("score"))}</td>'
                    f'<td class="num">{fmt_num(r.get("mean_flip_rate"))}</td><td class="num">{fmt_num(r.get("clean_eer"))}</td>'
                    f'<td class="num">{fmt_num(r.get("mean_delta_eer"))}</td>{ref}</tr>')
    ref_head = "<th>mCE</th><th>relative mCE</th>" if with_ref else ""
    legend = (f'<p class="legend">{NOT_SIGNIFICANT_MARK} not significantly better than the detector ranked just below '
              "(paired bootstrap 95% CI of the score difference includes 0).</p>"
              if any(r.get("significant_vs_next") is False for r in ranking) else "")
    return ('<h2>Ranking</h2><p>Score: the mean EER over the clean cell and every common corrupted cell (a reference-free '
            "mCE: clean errors count too). Lower = better; the mean flip rate at each detector's clean threshold breaks "
            'ties.</p><table class="small" id="ranking"><thead><tr><th>#</th><th>detector</th><th>score (mean EER)</th>'
            f"<th>mean flip rate</th><th>clean EER</th><th>mean ΔEER</th>{ref_head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{legend}{_ce_html(ranking)}")


def _ce_html(ranking: list[Mapping[str, Any]]) -> str:
    """CE and relative CE per series and detector, as numbers, when a reference was given."""
    series = sorted({s for r in ranking if isinstance(r.get("corruption_errors"), Mapping) for s in r["corruption_errors"]})
    if not series:
        return ""
    head = "".join(f"<th>{esc(r.get('detector'))} CE / rel. CE</th>" for r in ranking)
    body = "".join(
        f"<tr><td>{esc(s)}</td>" + "".join(
            f'<td class="num">{fmt_num((r.get("corruption_errors") or {}).get(s, {}).get("ce"), 3)} / '
            f'{fmt_num((r.get("corruption_errors") or {}).get(s, {}).get("relative_ce"), 3)}</td>' for r in ranking)
        + "</tr>" for s in series)
    return (f'<h3>Corruption error vs the reference</h3><table class="small" data-key="ce"><thead><tr><th>corruption</th>'
            f"{head}</tr></thead><tbody>{body}</tbody></table>")


def pairwise_html(comp: Mapping[str, Any]) -> str:
    """One row per pair: the paired score difference with its CI, the clean EER difference, McNemar."""
    pairs = [p for p in comp.get("pairwise") or [] if isinstance(p, Mapping)]
    if not pairs:
        return "<p>No paired test: the sweeps share no clips of both classes.</p>"
    rows = "".join(
        f'<tr data-pair="{esc(p.get("a"))} | {esc(p.get("b"))}"><td>{esc(p.get("a"))}</td><td>{esc(p.get("b"))}</td>'
        f'<td class="num">{esc(p.get("n"))}</td><td class="num">{fmt_num(p.get("eer_diff"))}</td>'
        f'<td class="num">{fmt_ci(p.get("eer_diff_ci95"))}</td><td class="num">{fmt_num(p.get("clean_eer_diff"))} '
        f'{fmt_ci(p.get("clean_eer_diff_ci95"))}</td><td class="num">{esc(p.get("mcnemar_b"))} / {esc(p.get("mcnemar_c"))}</td>'
        f'<td class="num">{fmt_num(p.get("mcnemar_p_value"), 4)}</td>'
        f'<td data-key="significant">{badge(p.get("significant"), "significant", "not significant")}</td></tr>'
        for p in pairs)
    return ('<h3>Paired significance</h3><p>Per pair (a ranked above b), on the common clips: the score difference '
            "b − a with its paired bootstrap 95% CI (clips resampled by class, both detectors and all cells on each "
            "resample), the clean EER difference, and McNemar's exact test on the clean decisions (b: clips a gets "
            'right and b wrong; c: the reverse).</p><table class="small" id="pairwise"><thead><tr><th>a</th><th>b</th>'
            "<th>n</th><th>score diff</th><th>95% CI</th><th>clean EER diff [CI]</th><th>McNemar b / c</th>"
            f"<th>McNemar p</th><th></th></tr></thead><tbody>{rows}</tbody></table>")


def comparison_html(comp: Mapping[str, Any]) -> str:
    """Banner, ranking and pairwise tables."""
    return comparability_banner(comp) + comparison_ranking_html(comp) + pairwise_html(comp)
