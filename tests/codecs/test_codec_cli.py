"""`audiostress corrupt in.wav out.wav -c opus -s 3` writes an aligned clip of the same length."""

from __future__ import annotations

from click.testing import CliRunner
from codec_signals import MAX_LAG_SAMPLES, SR, clip, lag_of

from audiostress.audio import load, save
from audiostress.cli import main
from audiostress.measure import snr_db


def test_corrupt_opus_severity_3(tmp_path):
    x = clip(1.5)[0]
    src = save(tmp_path / "in.wav", x, SR, subtype="FLOAT")
    dst = tmp_path / "out.wav"
    result = CliRunner().invoke(main, ["corrupt", str(src), str(dst), "-c", "opus", "-s", "3"])
    assert result.exit_code == 0, result.output
    y, sr = load(dst)
    assert sr == SR and y.shape == x.shape
    assert abs(lag_of(x.unsqueeze(0), y.unsqueeze(0))) <= MAX_LAG_SAMPLES
    snr = float(snr_db(x, y)[0])
    assert 0.0 < snr < 30.0  # coded at 8 kbps: clearly changed, still the same speech


def test_corrupt_refused_bitrate_is_one_clear_line(tmp_path):
    src = save(tmp_path / "in.wav", clip(0.2)[0], SR)
    result = CliRunner().invoke(main, ["corrupt", str(src), str(tmp_path / "o.wav"), "-c", "opus", "--param", "bitrate_kbps=0"])
    assert result.exit_code == 2
    assert "Expected `bitrate_kbps` in 0.5..256 for opus, got 0" in result.output
