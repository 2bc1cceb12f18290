"""``load_dataset``: a folder, a CSV/JSONL manifest or an ASVspoof protocol file -> ``Dataset``."""

from __future__ import annotations

import os
from pathlib import Path

from .asvspoof import default_audio_dir, load_protocol
from .clip import Dataset, DatasetError
from .folder import load_folder
from .manifest import load_csv, load_jsonl
from .rows import RowCollector
from .subset import stratified_subset


def load_dataset(
    spec: str | os.PathLike[str],
    *,
    audio_dir: str | None = None,
    strict: bool = False,
    limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Read clip records (audio is not loaded; files are only checked to exist).

    ``spec`` is a folder with label subfolders, a ``.csv`` / ``.jsonl`` manifest or an
    ASVspoof protocol file (any other file). ``audio_dir`` is the audio folder of a
    protocol (default: ``flac/`` or ``wav/`` next to it, else its folder) or the base
    of a manifest's relative paths. Bad rows become ``Dataset.problems`` unless
    ``strict``, which raises ``DatasetError`` at the first one. ``limit`` keeps a
    stratified subset chosen by ``seed``. An empty or single-class result raises
    ``DatasetError`` (EER needs both classes).
    """
    p = Path(spec).expanduser()
    if not p.exists():
        raise DatasetError(f"{p}: dataset not found (expected a folder, a .csv/.jsonl manifest or a protocol file)")
    info: dict[str, object] = {}
    if p.is_dir():
        if audio_dir is not None:
            raise DatasetError(f"{p}: `audio_dir` applies to manifests and protocol files, not to folders")
        rows = RowCollector(p, strict=strict)
        load_folder(p, rows)
        fmt = "folder"
    elif p.suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        base = Path(audio_dir) if audio_dir is not None else p.parent
        rows = RowCollector(base, strict=strict)
        fmt = "csv" if p.suffix.lower() == ".csv" else "jsonl"
        (load_csv if fmt == "csv" else load_jsonl)(p, rows)
    else:
        base = Path(audio_dir) if audio_dir is not None else default_audio_dir(p)
        if not base.is_dir():
            raise DatasetError(f"{p}: audio folder {base} does not exist (set audio_dir / --audio-dir)")
        rows = RowCollector(base, strict=strict)
        info["layouts"] = sorted(load_protocol(p, base, rows))
        fmt = "asvspoof"
    info["root"] = rows.root
    dataset = Dataset(clips=rows.clips, problems=rows.problems, source=str(p), format=fmt, info=info)
    _check_classes(dataset)
    total = len(dataset.clips)
    if limit is not None:
        dataset.clips = stratified_subset(dataset.clips, limit, seed)
    dataset.info.update({"total": total, "limit": limit, "seed": seed if limit is not None else None})
    return dataset


def _check_classes(dataset: Dataset) -> None:
    counts = dataset.counts()
    hint = ""
    if dataset.problems:
        hint = f"; {len(dataset.problems)} row(s) were skipped, first: {dataset.problems[0]}"
    if not dataset.clips:
        raise DatasetError(f"{dataset.source}: no usable clips{hint}")
    missing = [label for label, n in counts.items() if n == 0]
    if missing:
        raise DatasetError(
            f"{dataset.source}: only {', '.join(k for k, n in counts.items() if n)} clips "
            f"({len(dataset.clips)}); EER needs both bonafide and spoof, none labelled {missing[0]}{hint}"
        )
