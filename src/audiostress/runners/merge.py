"""``audiostress merge OUT SHARD_DIR ...``: combine the stores of ``--shard i/N`` runs into one sweep.

Every shard must carry the same configuration fingerprint (detector, dataset,
grid, seed); a (clip, cell) pair found in two shards must hold the same values.
The merged store is exported exactly as a single run exports its own
(``scores.csv`` in the same deterministic order, ``metrics.json`` from the same
rows and cells), so merging all shards gives what one run gives.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .export import ExportContext, exporters_for, run_exporters
from .rows import SCORE_COLUMNS, TIMING_COLUMNS
from .store import STORE_NAME, Store, StoreError, describe_difference, fingerprint_of

logger = logging.getLogger("audiostress.merge")
#: Columns compared when the same pair appears in two shards (timing may differ).
_VALUE_COLUMNS = tuple(c for c in SCORE_COLUMNS if c not in TIMING_COLUMNS)


def merge_sweeps(
    out: str | os.PathLike[str],
    shard_dirs: Sequence[str | os.PathLike[str]],
    *,
    n_bootstrap: int = 1000,
    reference: dict[str, Any] | None = None,
    report: bool = True,
) -> dict[str, Any]:
    """Merge shard sweep directories into ``out``; returns the merged metrics.

    Raises ``StoreError`` when a directory has no store, the fingerprints differ
    (naming what differs), or two shards disagree on a pair.
    """
    if not shard_dirs:
        raise StoreError("Give at least one shard directory to merge")
    out_dir = Path(out)
    configs: list[dict[str, Any]] = []
    provenances: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] | None = None
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for d in shard_dirs:
        path = Path(d) / STORE_NAME
        if not path.is_file():
            raise StoreError(f"{d}: no {STORE_NAME} here (is it a sweep --out directory?)")
        with Store(path) as store:
            config = store.config()
            if config is None:
                raise StoreError(f"{d}: the store holds no run")
            if configs and fingerprint_of(config) != fingerprint_of(configs[0]):
                raise StoreError(
                    f"{d} was swept with a different configuration than {shard_dirs[0]}: "
                    f"{describe_difference(configs[0], config)}"
                )
            configs.append(config)
            provenances.append(store.provenance() or {})
            cells = cells or store.cells()
            for row in store.rows():
                key = (row["clip_id"], row["cell_id"])
                if key in rows and any(rows[key][c] != row[c] for c in _VALUE_COLUMNS):
                    raise StoreError(f"{d}: {key[0]} / {key[1]} differs from the same pair in another shard")
                rows[key] = row
    provenance = dict(provenances[0])
    provenance["run"] = {**provenance.get("run", {}), "shard": None}
    provenance["merged_from"] = [{"dir": str(d), "shard": p.get("run", {}).get("shard")} for d, p in zip(shard_dirs, provenances)]
    out_dir.mkdir(parents=True, exist_ok=True)
    with Store(out_dir / STORE_NAME) as store:
        store.begin_run(configs[0], provenance, cells or [], None)
        store.write_rows(rows.values())
        merged = store.rows()
    config = configs[0]
    context = ExportContext(
        out_dir, merged, cells or [], config["grid"].get("codec_pair"), provenance,
        seed=int(config["seed"]), n_bootstrap=n_bootstrap, reference=reference,
    )  # fmt: skip
    run_exporters(context, exporters_for(report))
    logger.info("audiostress merge: %d rows from %d shard(s) -> %s", len(merged), len(shard_dirs), out_dir)
    return context.metrics or {}
