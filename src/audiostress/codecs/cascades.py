"""Named codec cascades (registered with ``register_cascade``; listed by `audiostress list`).

Severity ``s`` runs every stage at its own severity ``s`` from the named table.
The M4A stage of the ASVspoof 2021 DF chains stays at 96 kbps (aac ``cascade``
table), so their severity axis is the first stage's bitrate.

- ``mp3_then_aac``: ASVspoof 2021 DF's MP3 -> M4A transcoding chain.
- ``vorbis_then_aac``: ASVspoof 2021 DF's Ogg -> M4A chain.
- ``mp3_then_encodec``: ASVspoof 5 condition C07, MP3 (C05 range) then EnCodec
  24 kHz; the ``encodec_24k`` stage is provided by ``codecs/encodec.py``.
"""

from __future__ import annotations

from ..corruptions.registry import register_cascade

register_cascade(
    "mp3_then_aac",
    ("mp3", "aac"),
    "ASVspoof 2021 DF MP3 -> M4A: mp3 (li2025 table, 40..8 kbps) then aac at a fixed 96 kbps (cascade table).",
    stage_tables=(None, "cascade"),
)
register_cascade(
    "vorbis_then_aac",
    ("vorbis", "aac"),
    "ASVspoof 2021 DF Ogg -> M4A: vorbis (160..32 kbps) then aac at a fixed 96 kbps (cascade table).",
    stage_tables=(None, "cascade"),
)
register_cascade(
    "mp3_then_encodec",
    ("mp3", "encodec_24k"),
    "ASVspoof 5 C07 MP3 -> EnCodec: mp3 (asvspoof5 table, 256..48 kbps) then encodec_24k.",
    stage_tables=("asvspoof5", None),
)
