"""ASVspoof protocol/key files (whitespace-separated, one trial per line).

Supported layouts, recognised by their column count:

- 5 columns, ASVspoof 2019 LA/PA CM protocols: ``SPEAKER FILE ENVIRONMENT ATTACK KEY``
  (LA leaves ENVIRONMENT as ``-``).
- 8 columns, ASVspoof 2021 LA keys (``trial_metadata.txt``):
  ``SPEAKER FILE CODEC TRANSMISSION ATTACK KEY TRIM SUBSET``.
- 13 columns, ASVspoof 2021 DF keys: ``SPEAKER FILE CODEC SOURCE ATTACK KEY TRIM SUBSET
  VOCODER TASK TEAM GENDER_PAIR LANGUAGE``.
- 10 columns, ASVspoof 5: ``SPEAKER FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG
  ATTACK_LABEL KEY TMP`` (ATTACK_LABEL, e.g. ``A05``, is the attack).
- any other count: the right-most ``bonafide``/``spoof`` column is the key, the column
  before it the attack, the rest go to meta as ``col<N>``.

``FILE`` -> clip id; audio is ``AUDIO_DIR/FILE.flac`` (or ``.wav``). The attack is None
for ``-`` and ``bonafide``; every other named column (speaker, codec, ...) goes into
``meta`` as the raw string. Rows are named ``protocol.txt:LINE``.
"""

from __future__ import annotations

from pathlib import Path

from .clip import AUDIO_EXTENSIONS
from .rows import RowCollector

LAYOUTS: dict[int, tuple[str, tuple[str, ...]]] = {
    5: ("asvspoof2019", ("speaker", "file", "environment", "attack", "key")),
    8: ("asvspoof2021_la", ("speaker", "file", "codec", "transmission", "attack", "key", "trim", "subset")),
    13: (
        "asvspoof2021_df",
        ("speaker", "file", "codec", "source", "attack", "key", "trim", "subset",
         "vocoder", "task", "team", "gender_pair", "language"),
    ),
    10: (
        "asvspoof5",
        ("speaker", "file", "gender", "codec", "codec_q", "codec_seed", "attack_tag", "attack", "key", "tmp"),
    ),
}
_KEYS = ("bonafide", "spoof")
#: Extensions tried, in order, for a protocol file id without one.
PROTOCOL_EXTENSIONS = (".flac", ".wav")


def default_audio_dir(protocol: Path) -> Path:
    """``flac/`` or ``wav/`` next to the protocol file, else the protocol's own folder."""
    for name in ("flac", "wav"):
        if (protocol.parent / name).is_dir():
            return protocol.parent / name
    return protocol.parent


def _columns(tokens: list[str]) -> tuple[str, tuple[str, ...]]:
    if len(tokens) in LAYOUTS:
        return LAYOUTS[len(tokens)]
    keys = [i for i, t in enumerate(tokens) if t.lower() in _KEYS and i >= 2]
    names = [f"col{i}" for i in range(len(tokens))]
    names[0], names[1] = "speaker", "file"
    if keys:
        names[keys[-1]] = "key"
        if keys[-1] - 1 >= 2:
            names[keys[-1] - 1] = "attack"
    return "generic", tuple(names)


def _audio_path(file_id: str, audio_dir: Path) -> str:
    if Path(file_id).suffix.lower() in AUDIO_EXTENSIONS:
        return file_id
    for ext in PROTOCOL_EXTENSIONS:
        if (audio_dir / f"{file_id}{ext}").is_file():
            return f"{file_id}{ext}"
    return f"{file_id}{PROTOCOL_EXTENSIONS[0]}"


def load_protocol(path: Path, audio_dir: Path, rows: RowCollector) -> set[str]:
    """Collect the trials of a protocol file; returns the layout names seen."""
    layouts: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            tokens = line.split()
            if not tokens or tokens[0].startswith("#"):
                continue
            row = f"{path.name}:{number}"
            if len(tokens) < 3:
                rows.problem(row, f"expected at least SPEAKER FILE KEY columns, got {len(tokens)} column(s)")
                continue
            layout, names = _columns(tokens)
            layouts.add(layout)
            fields = dict(zip(names, tokens))
            if "key" not in fields:
                rows.problem(row, f"no bonafide/spoof key column among {tokens}")
                continue
            attack = fields.get("attack")
            if attack is not None and attack.lower() == "bonafide":
                attack = None
            meta = {k: v for k, v in fields.items() if k not in ("file", "key", "attack")}
            file_id = fields["file"]
            rows.add(row, _audio_path(file_id, audio_dir), fields["key"], attack=attack, clip_id=file_id, meta=meta)
    return layouts
