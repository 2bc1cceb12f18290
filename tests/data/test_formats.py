"""Every dataset format parses the same small dataset to identical Clips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from dataset_files import FILES, touch

from audiostress.data import Clip, Dataset, load_dataset


def _expected(root: Path) -> list[Clip]:
    return [
        Clip(clip_id=rel.rsplit(".", 1)[0], path=(root / rel).absolute(), label=label, attack=attack, meta={})
        for rel, label, attack in FILES
    ]


def _write_csv(path: Path, rows: list[dict]) -> Path:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(words: dict[str, str] | None = None) -> list[dict]:
    words = words or {}
    return [{"path": rel, "label": words.get(label, label), "attack": attack or ""} for rel, label, attack in FILES]


def test_folder_csv_and_jsonl_give_identical_clips(small_root):
    expected = _expected(small_root)
    folder = load_dataset(small_root)
    csv_ds = load_dataset(_write_csv(small_root / "manifest.csv", _rows({"bonafide": "Real", "spoof": "FAKE"})))
    jsonl_ds = load_dataset(_write_jsonl(small_root / "manifest.jsonl", _rows({"bonafide": "human", "spoof": "AI"})))
    for ds, fmt in ((folder, "folder"), (csv_ds, "csv"), (jsonl_ds, "jsonl")):
        assert isinstance(ds, Dataset) and ds.format == fmt
        assert sorted(ds.clips, key=lambda c: c.clip_id) == sorted(expected, key=lambda c: c.clip_id)
        assert ds.problems == []
    d = folder.describe()
    assert (d["n"], d["n_bonafide"], d["n_spoof"], d["attacks"]) == (7, 3, 4, {"A01": 2, "A02": 1})


def test_folder_label_synonyms_and_nested_attacks(tmp_path):
    root = tmp_path / "songs"
    touch(root / "Human" / "x.mp3")
    touch(root / "Generated" / "suno" / "v3" / "y.m4a")
    touch(root / "Generated" / "notes.txt")  # not audio: ignored
    ds = load_dataset(root)
    by_id = {c.clip_id: c for c in ds}
    assert by_id["Human/x"].label == "bonafide" and by_id["Human/x"].attack is None
    assert by_id["Generated/suno/v3/y"].label == "spoof" and by_id["Generated/suno/v3/y"].attack == "suno/v3"
    assert len(ds) == 2 and ds.problems == []


def test_manifest_clip_id_column_meta_and_audio_dir(small_root, tmp_path):
    rows = [dict(r, clip_id=f"id{i}", speaker=f"spk{i % 2}") for i, r in enumerate(_rows())]
    manifest = _write_csv(tmp_path / "elsewhere.csv", rows)
    ds = load_dataset(manifest, audio_dir=str(small_root))
    first = ds.clips[0]
    assert first.clip_id == "id0" and first.meta == {"speaker": "spk0"} and first.path == (small_root / "bonafide/b1.wav").absolute()
    jsonl = _write_jsonl(tmp_path / "x.jsonl", [dict(r, clip_id=f"id{i}", speaker=f"spk{i % 2}") for i, r in enumerate(_rows())])
    assert load_dataset(jsonl, audio_dir=str(small_root)).clips == ds.clips


def _protocol_dataset(tmp_path: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """2019 LA rows (speaker, file, env, attack, key) with audio in flac/ next to the protocol."""
    trials = [("LA_0079", "LA_T_1000001", "-", "-", "bonafide"), ("LA_0079", "LA_T_1000002", "-", "A01", "spoof"),
              ("LA_0080", "LA_T_1000003", "-", "A02", "spoof"), ("LA_0080", "LA_T_1000004", "-", "-", "bonafide")]
    for t in trials:
        touch(tmp_path / "flac" / f"{t[1]}.flac")
    proto = tmp_path / "ASVspoof2019.LA.cm.train.trn.txt"
    proto.write_text("".join(" ".join(t) + "\n" for t in trials))
    return proto, trials


def test_asvspoof2019_protocol_matches_equivalent_manifest(tmp_path):
    proto, trials = _protocol_dataset(tmp_path)
    ds = load_dataset(proto)
    assert ds.format == "asvspoof" and ds.info["layouts"] == ["asvspoof2019"]
    manifest = _write_csv(tmp_path / "flac" / "m.csv", [
        {"path": f"{f}.flac", "label": key, "attack": "" if att == "-" else att, "clip_id": f,
         "speaker": spk, "environment": env}
        for spk, f, env, att, key in trials
    ])
    assert ds.clips == load_dataset(manifest).clips
    assert [c.attack for c in ds] == [None, "A01", "A02", None]


def test_asvspoof2021_and_asvspoof5_layouts(tmp_path):
    audio = tmp_path / "audio"
    for name in ("LA_E_1", "LA_E_2", "DF_E_1", "DF_E_2", "E_0001", "E_0002"):
        touch(audio / f"{name}.flac")
    la = tmp_path / "la.txt"
    la.write_text("LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim eval\nLA_0009 LA_E_2 none - bonafide bonafide notrim progress\n")
    df = tmp_path / "df.txt"
    df.write_text(
        "LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n"
        "TEF2 DF_E_2 low_m4a vcc2020 bonafide bonafide notrim eval bonafide - - - -\n"
    )
    five = tmp_path / "asv5.tsv"
    five.write_text("E_1 E_0001 F C01 3 1234 AC3 A17 spoof -\nE_2 E_0002 M - 0 - - bonafide bonafide -\n")
    la_ds = load_dataset(la, audio_dir=str(audio))
    assert [(c.label, c.attack, c.meta["codec"], c.meta["transmission"]) for c in la_ds] == [
        ("spoof", "A07", "alaw", "ita_tx"), ("bonafide", None, "none", "-")]
    df_ds = load_dataset(df, audio_dir=str(audio))
    assert df_ds.clips[0].meta["vocoder"] == "traditional_vocoder" and df_ds.clips[0].attack == "A14"
    assert df_ds.clips[1].attack is None and df_ds.clips[1].meta["codec"] == "low_m4a"
    five_ds = load_dataset(five, audio_dir=str(audio))
    spoof, bona = five_ds.clips
    assert five_ds.info["layouts"] == ["asvspoof5"]
    assert (spoof.clip_id, spoof.attack, spoof.meta["codec"], spoof.meta["codec_q"], spoof.meta["attack_tag"]) == (
        "E_0001", "A17", "C01", "3", "AC3")
    assert bona.label == "bonafide" and bona.attack is None and bona.meta["gender"] == "M"


def test_protocol_default_audio_dir_falls_back_to_wav_then_own_folder(tmp_path):
    touch(tmp_path / "wav" / "a.wav")
    touch(tmp_path / "wav" / "b.wav")
    proto = tmp_path / "p.txt"
    proto.write_text("S a - - bonafide\nS b - A01 spoof\n")
    assert [c.path.name for c in load_dataset(proto)] == ["a.wav", "b.wav"]


@pytest.mark.parametrize("name", ["missing_dir", "nothing.csv"])
def test_missing_dataset_is_an_error(tmp_path, name):
    from audiostress.data import DatasetError

    with pytest.raises(DatasetError, match="dataset not found"):
        load_dataset(tmp_path / name)
