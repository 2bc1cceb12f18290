"""Severity tables match ANCHORS.md, and the documented codec rates and bands hold when measured."""

from __future__ import annotations

import pytest
import torch
from codec_signals import SR, clip

from audiostress.corruptions import create, get
from audiostress.seeding import make_generator


def _kbps(name, table=None):
    return [lv["bitrate_kbps"] for lv in get(name).severity_table(table).levels]


def test_mp3_is_li_et_al_mildest_first():
    assert _kbps("mp3") == [40, 32, 24, 16, 8]


def test_opus_uses_five_li_et_al_rates_mildest_first():
    levels = _kbps("opus")
    assert set(levels) <= {1, 2, 4, 8, 16, 31} and levels == sorted(levels, reverse=True)


@pytest.mark.parametrize("name", ["mp3", "aac", "opus"])
def test_codecs_table_ends_at_artifactnet_128k(name):
    levels = _kbps(name, "codecs")
    assert levels[-1] == 128 and levels == sorted(levels, reverse=True)


@pytest.mark.parametrize(
    ("name", "table", "low", "high", "band"),
    [
        ("mp3", "asvspoof5", 45, 256, None),
        ("aac", "asvspoof5", 16, 128, None),
        ("amr_nb", "asvspoof5", 4.75, 12.2, None),
        ("opus", "asvspoof5_wb", 6, 30, 8000),
        ("opus", "asvspoof5_nb", 4, 20, 4000),
    ],
)
def test_asvspoof5_tables_stay_in_the_published_ranges(name, table, low, high, band):
    levels = get(name).severity_table(table).levels
    kbps = [lv["bitrate_kbps"] for lv in levels]
    assert all(low <= k <= high for k in kbps) and kbps == sorted(kbps, reverse=True)
    assert kbps[0] == high
    if band is not None:
        assert all(lv["band_hz"] == band for lv in levels)


@pytest.mark.parametrize(
    ("name", "kbps", "rate"),
    [("mp3", 32, 16000), ("mp3", 8, 16000), ("mp3", 256, 32000), ("aac", 64, 16000), ("aac", 128, 22050), ("opus", 8, 48000)],
)
def test_codec_rate_for_16k_input(name, kbps, rate):
    node = create(name, params={"bitrate_kbps": kbps})
    assert node.codec_rate(SR, 1, node.values) == rate


def _band_energy_db(x: torch.Tensor, lo_hz: float, hi_hz: float) -> float:
    spec = torch.fft.rfft(x.reshape(-1).to(torch.float64)).abs().pow(2)
    freqs = torch.fft.rfftfreq(x.numel(), 1.0 / SR)
    band = spec[(freqs >= lo_hz) & (freqs < hi_hz)].sum()
    return float(10 * torch.log10(band / spec.sum()))


#: A narrowband codec path keeps little above 4 kHz: at least this far below the full-band energy.
NB_REJECTION_DB = 25.0


@pytest.mark.parametrize(
    ("name", "params"),
    [("opus", {"bitrate_kbps": 12, "band_hz": 4000}), ("amr_nb", {}), ("mulaw", {}), ("gsm", {})],
)
def test_narrowband_codecs_remove_the_upper_band(name, params):
    x = clip()
    assert _band_energy_db(x, 4300, 8000) > -NB_REJECTION_DB  # the input has energy up there
    y = create(name, params=params).apply(x, SR, generator=make_generator(0))
    assert _band_energy_db(y, 4300, 8000) < -NB_REJECTION_DB


def test_g711_level_knob_lowers_snr_when_quiet():
    from audiostress.measure import snr_db

    x = clip()
    snrs = [float(snr_db(x, create("alaw", params={"input_level_dbfs": lv}).apply(x, SR, generator=make_generator(0)))[0]) for lv in (-26, -66)]
    assert snrs[1] < snrs[0] - 1.0
