"""``replay``: rebuild exactly the audio a sweep's detector scored for one (clip, cell) pair.

The sweep corrupts clip ``c`` under cell ``k`` with the node stored for ``k`` and
a generator seeded by ``pair_seed(sweep seed, c, k)``. Replay reads those from
the sweep's store, reloads the clip through the dataset recorded in the
provenance, and runs the node on the clip alone. CPU-placed cells (codecs) run
alone in the sweep too, so they come back bit-identical; device-placed cells ran
inside their clip group's padded batch, and a batch item equals the clip alone
within float32 kernel rounding (the registry invariant's 1e-5).

The sweep resamples every clip to its corrupt rate right after loading (the
provenance's ``corrupt_rate``: Hz, or ``"native"`` for each file's own rate;
stores from before the setting hold none and ran at native rates). Replay does
the same with the same function (``audio.resample``) before corrupting, so the
audio is returned at the rate the corruption ran at, as ``[C, T]`` float32.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("audiostress.replay")

STORE_NAME = "results.sqlite"


class ReplayError(ValueError):
    """The pair cannot be replayed; the message says which piece is missing and how to supply it."""


def _read_store(run_dir: Path, clip_id: str, cell_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """(config identity, provenance, node dict of the cell, stored label of the pair) from results.sqlite, read-only."""
    import json

    path = run_dir / STORE_NAME
    if not path.is_file():
        raise ReplayError(f"{run_dir}: no {STORE_NAME} (expected the --out folder of a sweep)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        first = conn.execute("SELECT config FROM runs ORDER BY id LIMIT 1").fetchone()
        last = conn.execute("SELECT provenance FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        cell = conn.execute("SELECT node FROM cells WHERE cell_id = ?", (cell_id,)).fetchone()
        row = conn.execute("SELECT label FROM scores WHERE clip_id = ? AND cell_id = ?", (clip_id, cell_id)).fetchone()
        if cell is None:
            ids = [r[0] for r in conn.execute("SELECT cell_id FROM cells ORDER BY position")]
            raise ReplayError(f"{run_dir}: no cell {cell_id!r} in this sweep; cells: {', '.join(ids)}")
        if row is None:
            raise ReplayError(f"{run_dir}: the sweep holds no row for clip {clip_id!r} in cell {cell_id!r} (check --clip-id)")
    except sqlite3.DatabaseError as exc:
        raise ReplayError(f"{path}: not a readable results store ({exc})") from exc
    finally:
        conn.close()
    if first is None or last is None:
        raise ReplayError(f"{path}: the store holds no run")
    return json.loads(first[0]), json.loads(last[0]), json.loads(cell[0]), str(row[0])


def _clip_path(provenance: dict[str, Any], clip_id: str, data: str | os.PathLike[str] | None, audio_dir: str | None) -> Path:
    from .data import load_dataset

    dataset_info = provenance.get("dataset") or {}
    source = data if data is not None else dataset_info.get("source")
    if not source:
        raise ReplayError("the sweep's provenance records no dataset source; pass the dataset with `data=` / --data")
    if audio_dir is None and data is None and dataset_info.get("format") not in (None, "folder"):
        root = dataset_info.get("root")
        audio_dir = str(root) if root else None
    try:
        dataset = load_dataset(str(source), audio_dir=audio_dir)
    except (ValueError, OSError) as exc:
        raise ReplayError(f"cannot reload the sweep's dataset {source}: {exc} (pass its current place with --data)") from exc
    for clip in dataset.clips:
        if clip.clip_id == clip_id:
            return Path(clip.path)
    raise ReplayError(f"clip {clip_id!r} is not in the dataset {source} any more (pass its current place with --data)")


def corrupt_rate_of(config: dict[str, Any], provenance: dict[str, Any]) -> int | None:
    """The rate the sweep corrupted at (Hz), or ``None`` for native rates (also for older stores)."""
    value = config.get("corrupt_rate", provenance.get("corrupt_rate", "native"))
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if value in (None, "native"):
        return None
    raise ReplayError(f"the sweep's store records corrupt_rate {value!r}; expected a rate in Hz or 'native'")


def replay_pair(
    run_dir: str | os.PathLike[str],
    clip_id: str,
    cell_id: str,
    *,
    out: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    audio_dir: str | None = None,
) -> tuple[np.ndarray, int]:
    """The audio scored for ``(clip_id, cell_id)`` in the sweep at ``run_dir``: ``([C, T] float32, sample_rate)``.

    ``data``/``audio_dir`` point at the dataset when it moved since the sweep.
    With ``out`` the audio is also written there as a float32 WAV.
    """
    import torch

    from .audio import load, resample, save
    from .corruptions import from_dict
    from .runners.plan import pair_seed
    from .seeding import make_generator

    root = Path(run_dir).expanduser()
    if out is not None and Path(out).suffix.lower() != ".wav":
        raise ReplayError(f"Expected `out` to be a .wav path (replay writes float32 WAV), got {str(out)!r}")
    config, provenance, node_dict, label = _read_store(root, clip_id, cell_id)
    path = _clip_path(provenance, clip_id, data, audio_dir)
    audio, sample_rate = load(path)
    rate = corrupt_rate_of(config, provenance)
    if rate is not None and rate != sample_rate:
        audio, sample_rate = resample(audio, sample_rate, rate).contiguous(), rate
    node = from_dict(node_dict)
    seed = pair_seed(int(config["seed"]), clip_id, cell_id)
    lengths = torch.tensor([audio.shape[-1]], dtype=torch.long)
    with torch.inference_mode():
        corrupted = node.apply_items(audio.unsqueeze(0).float(), sample_rate, [make_generator(seed)], lengths)[0]
    result = corrupted.detach().to("cpu", torch.float32).contiguous().numpy()
    log.debug("replayed %s / %s (%s, seed %d) from %s", clip_id, cell_id, label, seed, path)
    if out is not None:
        save(out, torch.from_numpy(result), sample_rate, subtype="FLOAT")
    return result, sample_rate
