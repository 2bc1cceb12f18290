"""`audiostress list` and `audiostress corrupt` through the real console entry point."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from audiostress.audio import load, save
from audiostress.cli import main
from audiostress.corruptions import available
from audiostress.measure import snr_db
from audiostress.synth import speech_like


def test_list_json_covers_registry():
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    names = {item["name"] for item in items}
    assert names == set(available()) - {"clean"}
    for item in items:
        if "stages" not in item:
            assert len(item["levels"]["levels"]) == 5 and item["levels"]["source"]


def test_list_text_shows_tables():
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0
    assert "gaussian_noise" in result.output and "snr_db [dB]" in result.output and "5: snr_db=5.0" in result.output


def test_corrupt_writes_playable_file_at_requested_snr(tmp_path):
    src = save(tmp_path / "in.wav", speech_like(1.0, 16000, seed=4), 16000)
    dst = tmp_path / "out.wav"
    result = CliRunner().invoke(main, ["corrupt", str(src), str(dst), "-c", "gaussian_noise", "--param", "snr_db=12"])
    assert result.exit_code == 0, result.output
    x, _ = load(src)
    y, sr = load(dst)
    assert sr == 16000 and y.shape == x.shape
    assert abs(float(snr_db(x, y)[0]) - 12.0) < 0.05
    again = tmp_path / "again.wav"
    CliRunner().invoke(main, ["corrupt", str(src), str(again), "-c", "gaussian_noise", "--param", "snr_db=12"])
    assert again.read_bytes() == dst.read_bytes()  # seeded: same bytes


def test_corrupt_bad_input_is_one_clear_line(tmp_path):
    src = save(tmp_path / "in.wav", torch.zeros(1, 100), 16000)
    cases = [
        (["-c", "gaussian_noise", "-s", "7"], "Expected severity in 0..5 for gaussian_noise, got 7"),
        (["-c", "no_such", "-s", "1"], "Unknown corruption 'no_such'"),
        (["-c", "gaussian_noise", "--param", "snr_db=999"], "Expected `snr_db` in -20..120 for gaussian_noise, got 999"),
        (["-c", "gaussian_noise", "--param", "snr_db"], "Expected --param as KEY=VALUE"),
        (["-c", "gaussian_noise"], "Give a severity (0..5) or parameters"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["corrupt", str(src), str(tmp_path / "o.wav"), *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["corrupt", str(tmp_path / "missing.wav"), str(tmp_path / "o.wav"), "-c", "gain", "-s", "1"])
    assert result.exit_code == 2 and "missing.wav: file not found" in result.output
