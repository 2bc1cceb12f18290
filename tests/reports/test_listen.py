"""Listening excerpts: picked per cell as documented, replayed from the store, embedded as data: URIs that decode.

A real (small) sweep is run so that replay has a store to read. The excerpts are
lossy (Opus), so two checks together show that what is embedded is what the
detector scored: (1) exact: replaying the pair and hashing the excerpt's samples
gives the ``pcm_sha256`` the index records for the file's source PCM; (2) the
decoded data: URI agrees with that replayed slice (correlation above
``MIN_CORRELATION``; Opus at 32 kbps keeps the waveform only to about 7 dB SNR,
so no sample-exact bound is possible) far better than with another clip's audio.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
from sweep_fixtures import load_analytic_detector, write_dataset

from audiostress.replay import replay_pair
from audiostress.reports import write_report
from audiostress.reports.listen_html import listen_html
from audiostress.reports.load import load_sweep
from audiostress.runners.export import EXPORTERS
from audiostress.runners.listen import excerpt_bounds, mono, pcm_sha256, write_listening
from audiostress.runners.sweep import SweepConfig, run_sweep

GRID = """
cells:
  - {corruption: gaussian_noise, severity: 3}
  - {corruption: low_pass, severity: 4}
  - {corruption: mp3, severity: 3}
"""
#: Excerpt length used here: shorter than the 0.5 s clips, so the loudest-window cut is exercised.
MAX_S = 0.3
#: Decoded Opus excerpt vs the replayed samples it was encoded from (measured 0.9+ on these clips).
MIN_CORRELATION = 0.8
#: Decoded excerpt vs a different clip's replayed samples (unrelated signals: near 0).
MAX_OTHER_CORRELATION = 0.5
AUDIO_TAG = re.compile(r'<audio controls preload="metadata" data-n-samples="(\d+)" data-sample-rate="(\d+)" '
                       r'data-duration-s="([^"]+)" src="data:([^;]+;codecs=opus);base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("listen")
    data = write_dataset(root / "clips")
    grid = root / "grid.yaml"
    grid.write_text(GRID)
    out = root / "run"
    run_sweep(SweepConfig(detector=load_analytic_detector(4), data=str(data), grid=grid, out=out, report=False,
                          n_bootstrap=0, batch_size=4, workers=0))  # fmt: skip
    rows = list(csv.DictReader((out / "scores.csv").open()))
    metrics = json.loads((out / "metrics.json").read_text())
    assert write_listening(out, rows, metrics, max_s=MAX_S) == out / "listen" / "index.json"
    write_report([out])
    return out


def index_of(sweep_dir: Path) -> dict:
    return json.loads((sweep_dir / "listen" / "index.json").read_text())


def decode(data: bytes) -> tuple[np.ndarray, int]:
    chunks = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        for frame in container.decode(stream):
            chunks.append(frame.to_ndarray().reshape(-1))
    out = np.concatenate(chunks).astype(np.float64)
    return out, rate


def test_the_listening_exporter_runs_before_the_report() -> None:
    names = [e.name for e in EXPORTERS]
    assert names.index("metrics.json") < names.index("listen") < names.index("report")


def test_excerpt_bounds_take_the_loudest_window() -> None:
    x = np.zeros(16000, dtype=np.float32)
    x[9000:9400] = 1.0
    start, end = excerpt_bounds(x, 16000, 0.1)
    assert end - start == 1600 and start <= 9000 and end >= 9400 - 0  # the whole burst inside the window
    assert excerpt_bounds(x, 16000, 5.0) == (0, 16000)


def test_each_cell_lists_flipped_clips_first_then_largest_delta(sweep_dir: Path) -> None:
    index = index_of(sweep_dir)
    metrics = json.loads((sweep_dir / "metrics.json").read_text())
    threshold = metrics["clean"]["threshold"]
    rows = list(csv.DictReader((sweep_dir / "scores.csv").open()))
    score = {(r["clip_id"], r["cell_id"]): (float(r["raw_score"]), float(r["p_fake"])) for r in rows}
    clips = sorted({c for c, cell in score if cell == "clean"})
    for cell in ("gaussian_noise@3", "low_pass@4", "mp3@3"):
        expected = []
        for clip in clips:
            (raw0, p0), (raw1, p1) = score[(clip, "clean")], score[(clip, cell)]
            expected.append((not ((raw0 >= threshold) != (raw1 >= threshold)), -abs(p1 - p0), clip))
        got = [e["clip_id"] for e in index["cells"][cell]]
        assert got == [clip for _, _, clip in sorted(expected)[:5]]


def test_report_embeds_players_whose_data_uris_decode_to_the_stated_length(sweep_dir: Path) -> None:
    page = (sweep_dir / "report.html").read_text()
    index = index_of(sweep_dir)
    players = AUDIO_TAG.findall(page)
    n_entries = sum(len(v) for v in index["cells"].values()) + len(index["fragile"])
    assert len(players) == 2 * n_entries == page.count("<audio ")
    assert n_entries >= 3 * 5  # 5 per cell
    for n_samples, rate, duration, mime, b64 in players:
        audio, decoded_rate = decode(base64.b64decode(b64))
        assert mime == "audio/ogg;codecs=opus"
        assert int(rate) == 16000 and int(n_samples) == round(MAX_S * 16000)
        assert abs(float(duration) - int(n_samples) / int(rate)) < 1e-9
        # Opus decodes at 48 kHz: the stated length is the decoded length at that rate
        assert abs(audio.size / decoded_rate - float(duration)) <= 1.0 / int(rate)
    assert 'data-key="replay_command"' in page and "audiostress replay" in page


def test_replayed_excerpts_match_the_scored_audio(sweep_dir: Path) -> None:
    index = index_of(sweep_dir)
    replayed: dict[tuple[str, str], np.ndarray] = {}
    for info in index["excerpts"].values():
        audio, rate = replay_pair(sweep_dir, info["clip_id"], info["cell_id"])
        x = mono(audio)
        assert rate == info["sample_rate"]
        start = info["start_sample"]
        piece = x[start:start + info["n_samples"]]
        assert pcm_sha256(piece) == info["pcm_sha256"]  # exact: the encoder's input is the scored audio
        assert start == excerpt_bounds(mono(replay_pair(sweep_dir, info["clip_id"], "clean")[0]), rate, MAX_S)[0]
        replayed[(info["clip_id"], info["cell_id"])] = piece
    by_key = {k: v for k, v in index["excerpts"].items()}
    keys = sorted(by_key)
    for n, key in enumerate(keys):
        info = by_key[key]
        decoded, decoded_rate = decode((sweep_dir / "listen" / info["file"]).read_bytes())
        # back to the excerpt's rate (Opus decodes at 48 kHz): take every third sample of the 48 kHz signal
        decoded = decoded[:: decoded_rate // info["sample_rate"]][: info["n_samples"]]
        piece = replayed[(info["clip_id"], info["cell_id"])]
        corr = float(np.corrcoef(decoded[: piece.size], piece[: decoded.size])[0, 1])
        assert corr > MIN_CORRELATION, (key, corr)
        other = next(by_key[k] for k in keys[n + 1:] + keys[:n] if by_key[k]["clip_id"] != info["clip_id"])
        other_piece = replayed[(other["clip_id"], other["cell_id"])]
        m = min(other_piece.size, decoded.size)
        assert abs(float(np.corrcoef(decoded[:m], other_piece[:m])[0, 1])) < MAX_OTHER_CORRELATION


def test_the_page_bounds_the_embedded_audio(sweep_dir: Path) -> None:
    index = index_of(sweep_dir)
    sizes = sorted(e["bytes"] for e in index["excerpts"].values())
    limit = sum(sizes[:3])
    html = listen_html([load_sweep(sweep_dir)], sweep_dir, limit=limit)
    budget = re.search(r'data-embedded="(\d+)" data-linked="(\d+)" data-bytes="(\d+)"', html)
    assert budget is not None
    embedded, linked, used = map(int, budget.groups())
    assert used <= limit and embedded == html.count("<audio ") >= 1 and linked >= 1
    assert html.count('class="audio-link"') == linked
    assert 'href="listen/' in html
