"""Bad rows never abort loading: each is reported with its row; strict mode raises at the first."""

from __future__ import annotations

import json

import pytest
from dataset_files import touch

from audiostress.data import DatasetError, load_dataset


@pytest.fixture()
def layout(tmp_path):
    root = tmp_path / "root"
    touch(root / "bonafide" / "b1.wav")
    touch(root / "spoof" / "s1.wav")
    outside = touch(tmp_path / "outside.wav")  # exists, so only the escape can reject it
    return root, outside


def _bad_records(outside):
    return [
        {"path": "bonafide/b1.wav", "label": "bonafide"},
        {"path": "spoof/s1.wav", "label": "spoof"},
        {"path": "spoof/s1.wav", "label": "maybe"},
        {"path": "bonafide/nope.wav", "label": "bonafide"},
        {"path": "bonafide/b1.wav", "label": "real"},
        {"path": "../outside.wav", "label": "spoof"},
        {"path": str(outside), "label": "spoof"},
    ]


EXPECTED = [
    (4, "unknown label 'maybe'"),
    (5, "audio file not found"),
    (6, "duplicate clip id 'bonafide/b1'"),
    (7, "escapes the dataset root"),
    (8, "escapes the dataset root"),
]


def _check(ds, name, offset):
    assert len(ds) == 2
    got = [(p.row, p.message) for p in ds.problems]
    assert [row for row, _ in got] == [f"{name}:{line + offset}" for line, _ in EXPECTED]
    for (_, message), (_, needle) in zip(got, EXPECTED):
        assert needle in message


def test_csv_bad_rows_are_reported_with_their_line(layout):
    root, outside = layout
    lines = ["path,label"] + [f"{r['path']},{r['label']}" for r in _bad_records(outside)]
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    _check(load_dataset(manifest), "manifest.csv", 0)


def test_jsonl_bad_rows_including_broken_json(layout):
    root, outside = layout
    lines = [json.dumps(r) for r in _bad_records(outside)] + ["{not json", json.dumps({"label": "spoof"})]
    manifest = root / "m.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    ds = load_dataset(manifest)
    _check(type(ds)(ds.clips, ds.problems[:5], ds.source, ds.format), "m.jsonl", -1)
    assert [(p.row, p.message.split(" (")[0]) for p in ds.problems[5:]] == [
        ("m.jsonl:8", "not valid JSON"), ("m.jsonl:9", "missing key(s) path")]


def test_protocol_bad_rows(tmp_path):
    touch(tmp_path / "flac" / "F1.flac")
    touch(tmp_path / "flac" / "F2.flac")
    touch(tmp_path / "secret.flac")
    proto = tmp_path / "p.txt"
    proto.write_text(
        "S1 F1 - - bonafide\nS1 F2 - A01 spoof\nS1 F2 - A01 fake\nS1 F9 - A01 spoof\n"
        "S1 F1 - - bonafide\nS1 ../secret - A01 spoof\nS1 F2 - A01 maybe\nS1 F2\n"
    )
    ds = load_dataset(proto)
    assert [c.clip_id for c in ds] == ["F1", "F2"]
    got = [(p.row, p.message) for p in ds.problems]
    expected = [("p.txt:3", "duplicate clip id 'F2'"), ("p.txt:4", "audio file not found"),
                ("p.txt:5", "duplicate clip id 'F1'"), ("p.txt:6", "escapes the dataset root"),
                ("p.txt:7", "unknown label 'maybe'"), ("p.txt:8", "expected at least SPEAKER FILE KEY")]
    assert [r for r, _ in got] == [r for r, _ in expected]
    assert all(needle in message for (_, message), (_, needle) in zip(got, expected))


def test_folder_unknown_label_folder_and_stray_file(layout):
    root, _ = layout
    touch(root / "maybe" / "x.wav")
    touch(root / "loose.wav")
    ds = load_dataset(root)
    assert len(ds) == 2
    assert [(p.row, p.message.split(";")[0]) for p in ds.problems] == [
        ("loose.wav", "audio file is not inside a label folder (bonafide/, spoof/, ...)"),
        ("maybe/", "unknown label folder 'maybe'"),
    ]


def test_strict_mode_raises_on_the_first_problem(layout):
    root, outside = layout
    manifest = root / "manifest.csv"
    manifest.write_text("path,label\n" + "\n".join(f"{r['path']},{r['label']}" for r in _bad_records(outside)) + "\n")
    with pytest.raises(DatasetError, match=r"manifest.csv:4: unknown label 'maybe'"):
        load_dataset(manifest, strict=True)


def test_empty_and_single_class_datasets_are_errors(layout):
    root, _ = layout
    empty = root / "empty.csv"
    empty.write_text("path,label\n")
    with pytest.raises(DatasetError, match="no usable clips"):
        load_dataset(empty)
    one = root / "one.csv"
    one.write_text("path,label\nbonafide/b1.wav,bonafide\nspoof/s1.wav,unknown\n")
    with pytest.raises(DatasetError, match=r"EER needs both bonafide and spoof, none labelled spoof; 1 row\(s\) were skipped"):
        load_dataset(one)
    bad_header = root / "bad.csv"
    bad_header.write_text("file,class\nx,y\n")
    with pytest.raises(DatasetError, match="missing path, label"):
        load_dataset(bad_header)
