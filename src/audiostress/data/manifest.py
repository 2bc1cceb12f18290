"""CSV and JSONL manifests: ``path,label[,attack,clip_id,...]``; extra columns go to ``meta``.

Paths are relative to the manifest's folder (or to ``audio_dir`` when given) and may
not leave it. The default clip id is the relative path without its extension. Rows
are named ``manifest.csv:LINE`` (line 1 is the CSV header).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .clip import DatasetError
from .rows import RowCollector

REQUIRED = ("path", "label")
KNOWN = ("path", "label", "attack", "clip_id")


def _split(record: dict[str, Any]) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    meta = {k: v for k, v in record.items() if k not in KNOWN}
    return record.get("path"), record.get("label"), record.get("attack"), record.get("clip_id"), meta


def load_csv(path: Path, rows: RowCollector) -> None:
    """Read a CSV manifest with a header row naming at least ``path`` and ``label``."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise DatasetError(
                f"{path}: the header must name the columns {', '.join(REQUIRED)}; missing "
                f"{', '.join(missing)} (found {header or 'no header'})"
            )
        reader.fieldnames = header
        for record in reader:
            row = f"{path.name}:{reader.line_num}"
            if None in record:
                rows.problem(row, f"{len(record[None])} more values than header columns")
                continue
            if all(v in (None, "") for v in record.values()):
                continue
            p, label, attack, cid, meta = _split(record)
            rows.add(row, p, label, attack=attack, clip_id=cid, meta=meta)


def load_jsonl(path: Path, rows: RowCollector) -> None:
    """Read a JSON-lines manifest: one object per line with at least ``path`` and ``label``."""
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = f"{path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.problem(row, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                rows.problem(row, f"expected a JSON object, got {type(record).__name__}")
                continue
            absent = [c for c in REQUIRED if c not in record]
            if absent:
                rows.problem(row, f"missing key(s) {', '.join(absent)}")
                continue
            p, label, attack, cid, meta = _split(record)
            rows.add(row, p, label, attack=attack, clip_id=cid, meta=meta)
