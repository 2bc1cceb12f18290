"""EnCodec re-encoding: resampling, chunking, alignment, channel layout, weights lookup and cache.

No network: the real EnCodec architecture runs with UNTRAINED weights (seeded random
init and codebooks, saved under the hub file names by the session fixture in
``tests/conftest.py``). Untrained output is unrelated to the input, so what is tested
on the real model is the plumbing (rates, lengths, batching, weights, determinism);
alignment and chunk joins are tested with an identity codec that has EnCodec's interface.
"""

from __future__ import annotations

import inspect
import math
from types import SimpleNamespace

import pytest
import torch
import torchaudio.functional as AF
from untrained_encodec import build_untrained_encodec

from audiostress.codecs import _encodec_weights as weights
from audiostress.codecs.encodec import chunk_offsets, encodec_roundtrip
from audiostress.corruptions import create
from audiostress.measure import snr_db, xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
#: Conv/LSTM kernels may sum in another order for another batch size: float32 rounding only.
BATCH_ATOL = 1e-5
#: 16 -> 24 -> 16 kHz (or -> 48 kHz) sinc resampling loses only the band next to 8 kHz,
#: where the speech-like clip's fricatives sit: measured 22.1 dB. A 1-sample shift of the
#: same clip measures 3.8 dB, so 18 dB leaves margin yet catches any misalignment.
RESAMPLE_ROUNDTRIP_MIN_SNR_DB = 18.0
#: Crossfaded chunks of an identity codec must rebuild the signal up to float32 rounding.
CROSSFADE_ATOL = 1e-6


class IdentityCodec:
    """Stand-in with ``EncodecModel``'s interface whose code/decode is the identity.

    Records the shape of every encoder input, so tests can see rates and chunk sizes.
    """

    def __init__(self, sample_rate: int = 24000, channels: int = 1, normalize: bool = False) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.normalize = normalize
        self.frame_rate = 75
        self.seen: list[tuple[int, ...]] = []
        self.quantizer = SimpleNamespace(encode=lambda emb, rate, bw: emb, decode=lambda codes: codes)

    def encoder(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape))
        return x

    def decoder(self, emb: torch.Tensor) -> torch.Tensor:
        return emb


def _dominant_hz(x: torch.Tensor, rate: int) -> float:
    spectrum = torch.fft.rfft(x.to(torch.float64).reshape(-1)).abs()
    return float(torch.argmax(spectrum)) * rate / x.shape[-1]


def _spy_encoder_inputs(model, seen: list[torch.Tensor]):
    return model.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))


# -- resampling: the model always hears its own rate (no Li et al. pitch bug) ---------------------
@pytest.mark.parametrize("name, rate, channels", [("encodec_24k", 24000, 1), ("encodec_48k", 48000, 2)])
def test_model_receives_audio_at_its_own_rate(name, rate, channels):
    """A 1 kHz tone at 16 kHz must reach the model as a 1 kHz tone at ``rate`` with 1.5x/3x the samples."""
    x = tone(1000.0, 0.25, SR).unsqueeze(0)  # [1, 1, 4000]
    model = weights.load_model(rate)
    seen: list[torch.Tensor] = []
    handle = _spy_encoder_inputs(model, seen)
    try:
        y = create(name, severity=3).apply(x, SR, generator=[torch.Generator()])
    finally:
        handle.remove()
    assert y.shape == x.shape
    (heard,) = seen
    assert heard.shape == (1, channels, x.shape[-1] * rate // SR)
    bin_hz = rate / heard.shape[-1]
    # Fed unresampled, the same samples would read as 1500 Hz (24k) or 3000 Hz (48k).
    assert abs(_dominant_hz(heard[0, 0], rate) - 1000.0) <= bin_hz


# -- alignment, length and chunk joins with an identity codec -------------------------------------
@pytest.mark.parametrize("rate, channels", [(24000, 1), (48000, 2)])
def test_identity_codec_round_trip_is_aligned(rate, channels):
    x = speech_like(1.0, SR, seed=3).unsqueeze(0)
    y = encodec_roundtrip(IdentityCodec(rate, channels), x, SR, 6.0, chunk_s=10.0)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert xcorr_lag(x[0, 0], y[0, 0], max_lag=200) == 0
    assert float(snr_db(x, y)[0]) > RESAMPLE_ROUNDTRIP_MIN_SNR_DB
    # Nothing but the two resamplings happens around an identity codec.
    reference = AF.resample(AF.resample(x, SR, rate), rate, SR)[..., : x.shape[-1]]
    torch.testing.assert_close(y, reference, atol=CROSSFADE_ATOL, rtol=0)


@pytest.mark.parametrize("sample_rate, length", [(16000, 1), (16000, 7919), (22050, 4411), (44100, 44101), (24000, 333)])
def test_output_length_is_exact(sample_rate, length):
    x = torch.randn(2, 1, length, generator=torch.Generator().manual_seed(length)) * 0.1
    y = encodec_roundtrip(IdentityCodec(), x, sample_rate, 6.0, chunk_s=0.1)
    assert y.shape == x.shape
    if length > 1000:  # long enough for the sinc resampler's edge effects to be negligible
        assert xcorr_lag(x[0, 0], y[0, 0], max_lag=50) == 0


def test_chunk_offsets_cover_with_exact_overlaps():
    for n, chunk, overlap in [(25, 10, 2), (10, 10, 1), (11, 10, 1), (100_000, 2400, 24)]:
        offsets = chunk_offsets(n, chunk, overlap)
        assert offsets[0] == 0 and offsets[-1] + chunk >= n
        assert all(b - a == chunk - overlap for a, b in zip(offsets, offsets[1:]))
        assert len(offsets) == 1 or offsets[-2] + chunk < n  # no chunk lies wholly inside another


@pytest.mark.parametrize("normalize", [False, True])
def test_chunked_identity_codec_equals_unchunked_with_bounded_chunks(normalize):
    """Crossfades sum to one: chunking an identity codec changes nothing; no chunk exceeds chunk_s."""
    x = speech_like(3.3, SR, seed=4).unsqueeze(0)
    whole_model, chunked_model = IdentityCodec(normalize=normalize), IdentityCodec(normalize=normalize)
    whole = encodec_roundtrip(whole_model, x, SR, 6.0, chunk_s=10.0)
    chunked = encodec_roundtrip(chunked_model, x, SR, 6.0, chunk_s=1.0)
    torch.testing.assert_close(chunked, whole, atol=CROSSFADE_ATOL, rtol=0)
    n24 = math.ceil(x.shape[-1] * 24000 / SR)
    assert len(whole_model.seen) == 1 and whole_model.seen[0][-1] == n24
    assert len(chunked_model.seen) == len(chunk_offsets(n24, 24000, 240)) == 4
    assert max(shape[-1] for shape in chunked_model.seen) == 24000


def test_real_model_chunks_are_bounded_and_length_exact():
    x = speech_like(0.4, SR, seed=6).unsqueeze(0)
    model = weights.load_model(24000)
    seen: list[torch.Tensor] = []
    handle = _spy_encoder_inputs(model, seen)
    try:
        y = create("encodec_24k", params={"bandwidth_kbps": 6, "chunk_s": 0.1}).apply(x, SR, generator=[torch.Generator()])
    finally:
        handle.remove()
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert len(seen) == len(chunk_offsets(9600, 2400, 24)) == 5 and max(s.shape[-1] for s in seen) == 2400


# -- batching and channel layout on the real (untrained) model ------------------------------------
@pytest.mark.parametrize("name", ["encodec_24k", "encodec_48k"])
def test_batched_equals_per_clip(name):
    x = torch.stack([speech_like(0.25, SR, seed=s) for s in (1, 2, 3)])
    node = create(name, severity=2)
    gens = [torch.Generator() for _ in range(3)]
    model = weights.load_model(node.model_rate)
    seen: list[torch.Tensor] = []
    handle = _spy_encoder_inputs(model, seen)
    try:
        batched = node.apply(x, SR, generator=gens)
    finally:
        handle.remove()
    assert len(seen) == 1 and seen[0].shape[0] == 3  # the whole batch in ONE forward pass
    for i in range(3):
        alone = node.apply(x[i : i + 1], SR, generator=[torch.Generator()])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=BATCH_ATOL, rtol=0)
    assert not torch.allclose(batched[0], batched[1], atol=1e-3)  # outputs depend on the input


def test_24k_padded_item_equals_clip_alone():
    """Zero padding after the valid part cannot change it."""
    clip = speech_like(0.25, SR, seed=5)
    padded = torch.nn.functional.pad(clip, (0, 1500)).unsqueeze(0)
    node = create("encodec_24k", severity=3)
    out = node.apply(padded, SR, generator=[torch.Generator()], lengths=torch.tensor([clip.shape[-1]]))
    alone = node.apply(clip.unsqueeze(0), SR, generator=[torch.Generator()])
    torch.testing.assert_close(out[..., : clip.shape[-1]], alone, atol=BATCH_ATOL, rtol=0)


def _padded_vs_alone(node, clip: torch.Tensor, total: int) -> None:
    """``clip`` ``[1, n]`` zero-padded to ``total`` next to a full-length item equals it run alone."""
    n = clip.shape[-1]
    batch = torch.zeros(2, 1, total)
    batch[0] = speech_like(total / SR, SR, seed=3)[:, :total]
    batch[1, :, :n] = clip
    out = node.apply(batch, SR, generator=[torch.Generator(), torch.Generator()], lengths=torch.tensor([total, n]))
    alone = node.apply(clip.unsqueeze(0), SR, generator=[torch.Generator()])
    torch.testing.assert_close(out[1:2, :, :n], alone, atol=BATCH_ATOL, rtol=0)
    assert torch.count_nonzero(out[1, :, n:]) == 0


@pytest.mark.parametrize("name", ["encodec_24k", "encodec_48k"])
def test_short_clip_padded_in_batch_equals_alone(name):
    """encodec's reflect padding depends on the input length for short inputs (measured
    0.019 apart before items were coded at their own length)."""
    _padded_vs_alone(create(name, severity=3), speech_like(0.05, SR, seed=5), SR)


@pytest.mark.parametrize("name", ["encodec_24k", "encodec_48k"])
@pytest.mark.parametrize("n", [7000, 7930])
def test_chunked_clip_padded_in_batch_equals_alone(name, n):
    """With 0.1 s chunks the chunk layout depends on the length: a padded item must still
    be chunked as the clip alone is."""
    node = create(name, params={"bandwidth_kbps": 6.0, "chunk_s": 0.1})
    _padded_vs_alone(node, speech_like(1.0, SR, seed=2)[:, :n], SR)


def test_24k_codes_every_channel_as_mono():
    clips = [speech_like(0.25, SR, seed=s) for s in (7, 8)]
    stereo = torch.cat(clips).unsqueeze(0)  # [1, 2, T]
    node = create("encodec_24k", severity=1)
    out = node.apply(stereo, SR, generator=[torch.Generator()])
    for c, clip in enumerate(clips):
        mono = node.apply(clip.unsqueeze(0), SR, generator=[torch.Generator()])
        torch.testing.assert_close(out[:, c : c + 1], mono, atol=BATCH_ATOL, rtol=0)


def test_48k_duplicates_mono_and_codes_pairs():
    clips = [speech_like(0.25, SR, seed=s) for s in (7, 8, 9)]
    node = create("encodec_48k", severity=1)
    three = node.apply(torch.cat(clips).unsqueeze(0), SR, generator=[torch.Generator()])
    pair = node.apply(torch.cat(clips[:2]).unsqueeze(0), SR, generator=[torch.Generator()])
    mono = node.apply(clips[2].unsqueeze(0), SR, generator=[torch.Generator()])
    torch.testing.assert_close(three[:, :2], pair, atol=BATCH_ATOL, rtol=0)
    torch.testing.assert_close(three[:, 2:], mono, atol=BATCH_ATOL, rtol=0)
    # The mono path really is "duplicate, code as stereo, average the two decoded channels".
    model = weights.load_model(48000)
    dup = encodec_roundtrip(model, torch.cat([clips[2], clips[2]]).unsqueeze(0), SR, 24.0, 1.0)
    torch.testing.assert_close(mono, dup.mean(dim=1, keepdim=True), atol=BATCH_ATOL, rtol=0)


def test_deterministic_and_global_rng_untouched():
    x = speech_like(0.25, SR, seed=2).unsqueeze(0)
    weights.clear_cache()  # force a fresh build, which must not consume global RNG
    state = torch.get_rng_state()
    a = create("encodec_24k", severity=5).apply(x, SR, generator=[torch.Generator()])
    assert torch.equal(torch.get_rng_state(), state)
    b = create("encodec_24k", severity=5).apply(x, SR, generator=[torch.Generator()])
    assert torch.equal(a, b)


# -- weights: explicit path, lookup order, missing-weights error, cache ---------------------------
@pytest.mark.parametrize("as_directory", [False, True])
def test_weights_path_loads_that_state_dict(tmp_path, as_directory):
    model = build_untrained_encodec(24000, seed=7)
    file = tmp_path / (weights.CHECKPOINTS[24000] if as_directory else "mine.th")
    torch.save(model.state_dict(), file)
    x = speech_like(0.25, SR, seed=1).unsqueeze(0)
    given = str(tmp_path if as_directory else file)
    via_path = create("encodec_24k", params={"bandwidth_kbps": 12, "weights_path": given}).apply(x, SR, generator=[torch.Generator()])
    direct = encodec_roundtrip(model, x, SR, 12.0, 10.0)
    assert torch.equal(via_path, direct)
    default = create("encodec_24k", params={"bandwidth_kbps": 12}).apply(x, SR, generator=[torch.Generator()])
    assert not torch.allclose(via_path, default, atol=1e-3)  # the env-var weights (seed 0) differ


def test_lookup_order(tmp_path, monkeypatch):
    name = weights.CHECKPOINTS[24000]
    explicit, env, hub = (tmp_path / d for d in ("explicit", "env", "hub"))
    for folder in (explicit, env, hub / "checkpoints"):
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"x")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setenv(weights.ENV_VAR, str(env))
    assert weights.resolve_weights(24000, explicit) == explicit / name
    assert weights.resolve_weights(24000) == env / name
    monkeypatch.setenv(weights.ENV_VAR, str(env / name))  # a hub-named file works too
    assert weights.resolve_weights(24000) == env / name
    monkeypatch.delenv(weights.ENV_VAR)
    assert weights.resolve_weights(24000) == hub / "checkpoints" / name
    (hub / "checkpoints" / name).unlink()
    fetched: list[str] = []
    monkeypatch.setattr(weights, "_download", lambda url, dst: (fetched.append(url), dst.write_bytes(b"x")))
    assert weights.resolve_weights(24000) == hub / "checkpoints" / name
    assert fetched == [weights.ROOT_URL + name]


def test_bad_weights_locations_are_errors(tmp_path, monkeypatch):
    with pytest.raises(weights.EncodecWeightsError, match="`weights_path` for encodec_24k does not exist"):
        weights.resolve_weights(24000, tmp_path / "nope.th")
    (tmp_path / "other.th").write_bytes(b"x")
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "other.th"))
    with pytest.raises(weights.EncodecWeightsError, match="not named like an EnCodec checkpoint"):
        weights.resolve_weights(24000)


@pytest.mark.parametrize("name, rate", [("encodec_24k", 24000), ("encodec_48k", 48000)])
def test_missing_weights_error_names_file_place_env_and_url(tmp_path, monkeypatch, name, rate):
    monkeypatch.delenv(weights.ENV_VAR)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(url, dst):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(weights, "_download", offline)
    with pytest.raises(weights.EncodecWeightsError) as info:
        create(name, severity=1).apply(torch.zeros(1, 1, 100), SR, generator=[torch.Generator()])
    assert isinstance(info.value, RuntimeError)  # reported by the CLI and runner like other failures
    message = str(info.value)
    file_name = {24000: "encodec_24khz-d7cc33bc.th", 48000: "encodec_48khz-7e698e3e.th"}[rate]
    for fact in (
        f"expected the file {file_name}",
        f"Put it at {tmp_path / 'checkpoints' / file_name}",
        "set AUDIOSTRESS_ENCODEC_WEIGHTS to a directory holding",
        f"It normally comes from https://dl.fbaipublicfiles.com/encodec/v0/{file_name}",
        "Network is unreachable",
    ):
        assert fact in message, (fact, message)


def test_names_and_url_match_the_installed_encodec_package():
    from encodec import model as encodec_model

    assert weights.ROOT_URL == encodec_model.ROOT_URL
    source = inspect.getsource(encodec_model.EncodecModel)
    for file_name in weights.CHECKPOINTS.values():
        assert f"'{file_name}'" in source


def test_model_loaded_once_and_cached(tmp_path):
    first = weights.load_model(24000)
    assert weights.load_model(24000) is first
    assert weights.load_model(48000) is not first
    torch.save(build_untrained_encodec(24000, seed=3).state_dict(), tmp_path / "w.th")
    other = weights.load_model(24000, tmp_path / "w.th")
    assert other is not first and weights.load_model(24000, str(tmp_path / "w.th")) is other


def test_unsupported_bandwidth_names_param_and_choices():
    with pytest.raises(ValueError, match=r"Expected `bandwidth_kbps` in one of 1\.5, 3\.0, 6\.0, 12\.0, 24\.0 for encodec_24k, got 5"):
        create("encodec_24k", params={"bandwidth_kbps": 5})
    with pytest.raises(ValueError, match=r"bandwidth_kbps.*for encodec_48k, got 1\.5"):
        create("encodec_48k", params={"bandwidth_kbps": 1.5})


def test_provenance_names_package_version_and_weights_file(untrained_encodec_weights):
    from importlib.metadata import version

    info = create("encodec_48k", severity=1).provenance()
    assert info["versions"]["encodec"] == version("encodec") and info["backend"] == "encodec"
    assert info["weights"] == str(untrained_encodec_weights / "encodec_48khz-7e698e3e.th")
    assert create("encodec_24k", severity=1).describe()["checkpoint"] == "encodec_24khz-d7cc33bc.th"
