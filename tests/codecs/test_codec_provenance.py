"""Provenance: library versions, the ffmpeg binary, and per-codec describe()/provenance()."""

from __future__ import annotations

import os

import av
import pedalboard

from audiostress.codecs.provenance import codec_versions
from audiostress.corruptions import available, create, get


def test_codec_versions_names_every_backend_with_real_versions():
    info = codec_versions()
    assert info["pyav"]["pyav"] == av.__version__
    assert info["pyav"]["libavcodec"] == ".".join(map(str, av.library_versions["libavcodec"]))
    assert info["pyav"]["libmp3lame"].startswith("3.")
    assert "libopus" in info["pyav"]["libopus"]
    assert os.path.isfile(info["ffmpeg"]["ffmpeg_path"]) and info["ffmpeg"]["ffmpeg_version"]
    assert info["pedalboard"]["pedalboard"] == pedalboard.__version__


def test_describe_lists_encoder_and_backend_versions_for_every_codec():
    for name in available("codec"):
        info = get(name).describe()
        assert info["family"] == "codec" and info["placement"] == "cpu"
        assert info["encoder"] and info["backends"], name
        for versions in info["backends"].values():
            assert versions and "error" not in versions, (name, versions)


def test_instance_provenance_follows_the_chosen_backend():
    prov = create("mp3", params={"backend": "ffmpeg"}).provenance()
    assert prov == {"codec": "mp3", "encoder": "libmp3lame", "backend": "ffmpeg", "versions": codec_versions()["ffmpeg"]}
    assert create("vorbis", severity=2).provenance()["backend"] == "ffmpeg"
    assert create("gsm", severity=2).provenance()["backend"] == "pedalboard"
