"""``audiostress cache build``: fill a ``CodecCache`` with the worker pool.

A standalone click group; ``cli.py`` registers it with ``main.add_command(cache)``.

``audiostress cache build DATASET --variants artifactnet_4way [--variants mp3@3 ...] -k 4 --out CACHE``
codes k realisations of every clip of DATASET (a folder, manifest or protocol, as
for ``sweep``) under the CPU part of each variant, and stores the bitstreams.
"""

from __future__ import annotations

import json

import click

__all__ = ["cache"]


class CacheUsageError(click.ClickException):
    """One line on stderr and exit code 2 (as the rest of the CLI)."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"audiostress: error: {self.format_message()}", err=True)


@click.group("cache")
def cache() -> None:
    """Build codec caches for training (encoded bitstreams, decoded at training time)."""


@cache.command("build")
@click.argument("dataset")
@click.option("--variants", "variants", multiple=True, required=True, metavar="VARIANT",
              help="A training preset (artifactnet_4way, artifactnet_4way_random) or a cell (mp3@3, "
                   "mp3{bitrate_kbps=128}); repeatable.")
@click.option("-k", "k", type=int, default=4, show_default=True, help="Seeded realisations per (clip, variant).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Cache folder.")
@click.option("--sample-rate", "sample_rate", type=int, default=16000, show_default=True,
              help="Rate the training dataset resamples to (part of every key).")
@click.option("--seed", type=int, default=0, show_default=True, help="Cache seed (realisation r uses derive_seed(seed, clip hash, r)).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes (the sweep's pool).")
@click.option("--audio-dir", "audio_dir", default=None, help="Audio root for protocol datasets.")
def build_cmd(dataset: str, variants: tuple[str, ...], k: int, out: str, sample_rate: int, seed: int, workers: int,
              audio_dir: str | None) -> None:
    """Code K realisations of every clip of DATASET under each variant into OUT."""
    from .augment.cache import build_cache
    from .augment.presets import parse_variant
    from .data import load_dataset

    try:
        nodes = [parse_variant(v) for v in variants]
        clips = load_dataset(dataset, audio_dir=audio_dir).clips
        summary = build_cache([c.path for c in clips], nodes, out=out, k=k, sample_rate=sample_rate, seed=seed,
                              workers=workers)
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        raise CacheUsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    click.echo(json.dumps({**summary, "out": out}, sort_keys=True))
