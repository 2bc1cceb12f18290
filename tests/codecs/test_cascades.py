"""Codec cascades: registered, listed, equal to the explicit chain of their stages."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from codec_signals import SR, clip

from audiostress.cli import main
from audiostress.corruptions import CASCADES, Chain, available, create
from audiostress.seeding import make_generator


def test_cascades_are_registered_with_their_stages():
    assert CASCADES["mp3_then_aac"].stages == ("mp3", "aac")
    assert CASCADES["vorbis_then_aac"].stages == ("vorbis", "aac")
    assert CASCADES["mp3_then_encodec"].stages == ("mp3", "encodec_24k")


def test_audiostress_list_shows_codecs_and_cascades():
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 0, result.output
    names = {item["name"] for item in json.loads(result.output)}
    assert {"mp3", "aac", "opus", "vorbis", "amr_nb", "mulaw", "alaw", "g722", "gsm"} <= names
    assert {"mp3_then_aac", "vorbis_then_aac", "mp3_then_encodec"} <= names


@pytest.mark.parametrize(("name", "first", "first_table"), [("mp3_then_aac", "mp3", None), ("vorbis_then_aac", "vorbis", None)])
def test_cascade_equals_chain_of_stages(name, first, first_table):
    x = clip(0.5)
    cascade = create(name, severity=4)
    chain = Chain(create(first, severity=4, table=first_table), create("aac", severity=4, table="cascade"))
    assert torch.equal(cascade.apply(x, SR, generator=make_generator(0)), chain.apply(x, SR, generator=make_generator(0)))


@pytest.mark.skipif("encodec_24k" not in available(), reason="encodec_24k is built by the EnCodec part")
def test_mp3_then_encodec_uses_asvspoof5_mp3_levels():
    node = create("mp3_then_encodec", severity=1)
    assert node.nodes[0].to_dict()["params"]["bitrate_kbps"] == 256.0
    assert node.nodes[1].to_dict()["name"] == "encodec_24k"


def test_cascade_without_severity_is_an_error_not_clean():
    with pytest.raises(ValueError, match=r"Cascade 'mp3_then_aac' needs a severity 1\.\.5"):
        create("mp3_then_aac")
    assert create("mp3_then_aac", severity=0).to_dict()["name"] == "clean"
