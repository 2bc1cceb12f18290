"""Finding, loading and caching EnCodec weights (24 kHz mono and 48 kHz stereo models).

Lookup order for a model's checkpoint (first hit wins):

1. the explicit ``weights_path`` parameter: a checkpoint file, or a directory holding
   the checkpoint under its hub file name (a missing path is an error, never skipped);
2. the ``AUDIOSTRESS_ENCODEC_WEIGHTS`` environment variable: a directory holding the
   checkpoints under their hub file names (``encodec_24khz-d7cc33bc.th``,
   ``encodec_48khz-7e698e3e.th``), or one of those files itself (a file is only used
   for the model whose hub file name it carries);
3. the torch hub cache file the ``encodec`` package itself uses,
   ``torch.hub.get_dir()/checkpoints/<hub file name>``;
4. the download from the package's URL into that cache (sha256 prefix checked), when online.

If all fail, one ``EncodecWeightsError`` names the expected file, where to put it,
the environment variable and the URL. Weights are read with
``torch.load(..., weights_only=True)``; a model is built once per process and
cached by (sample rate, weights file, device). Building the architecture runs
inside ``torch.random.fork_rng`` so the global RNG is left untouched.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch

from ._neural import ModelCache

#: Environment variable naming a weights directory (or one hub-named checkpoint file).
ENV_VAR = "AUDIOSTRESS_ENCODEC_WEIGHTS"
#: Where the ``encodec`` package downloads its checkpoints from (``encodec.model.ROOT_URL``).
ROOT_URL = "https://dl.fbaipublicfiles.com/encodec/v0/"
#: Hub file name of each model's checkpoint, by model sample rate (from ``encodec/model.py``).
CHECKPOINTS: dict[int, str] = {24000: "encodec_24khz-d7cc33bc.th", 48000: "encodec_48khz-7e698e3e.th"}

_MODELS = ModelCache()


class EncodecWeightsError(FileNotFoundError, RuntimeError):
    """EnCodec weights could not be found locally nor downloaded.

    Both a ``FileNotFoundError`` (what it is) and a ``RuntimeError`` (what the CLI and
    runner report as a per-corruption failure).
    """


def checkpoint_name(model_rate: int) -> str:
    """The hub file name of the checkpoint for the ``model_rate`` (24000 or 48000) model."""
    if model_rate not in CHECKPOINTS:
        raise ValueError(f"Expected an EnCodec model rate in {sorted(CHECKPOINTS)}, got {model_rate!r}")
    return CHECKPOINTS[model_rate]


def checkpoint_url(model_rate: int) -> str:
    """The URL the ``encodec`` package downloads the checkpoint from."""
    return ROOT_URL + checkpoint_name(model_rate)


def hub_cache_path(model_rate: int) -> Path:
    """``torch.hub.get_dir()/checkpoints/<hub file name>``, where ``encodec`` caches it."""
    return Path(torch.hub.get_dir()) / "checkpoints" / checkpoint_name(model_rate)


def _download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination``, checking the sha256 prefix in the file name."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    prefix = destination.stem.rsplit("-", 1)[-1]
    torch.hub.download_url_to_file(url, str(destination), hash_prefix=prefix, progress=False)


def _in_place(path: Path, name: str) -> Path:
    return path / name if path.is_dir() else path


def resolve_weights(model_rate: int, weights_path: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """The checkpoint file for the ``model_rate`` model, following the lookup order above."""
    name = checkpoint_name(model_rate)
    owner = f"encodec_{model_rate // 1000}k"
    if weights_path is not None:
        candidate = _in_place(Path(weights_path).expanduser(), name)
        if not candidate.is_file():
            raise EncodecWeightsError(
                f"`weights_path` for {owner} does not exist: {candidate} "
                f"(give a checkpoint file, or a directory holding {name})"
            )
        return candidate
    env = os.environ.get(ENV_VAR)
    if env:
        env_path = Path(env).expanduser()
        if env_path.is_file() and env_path.name not in CHECKPOINTS.values():
            raise EncodecWeightsError(
                f"{ENV_VAR}={env} is a file not named like an EnCodec checkpoint; point it at a "
                f"directory holding {name}, or name the file {name}"
            )
        candidate = _in_place(env_path, name)
        if candidate.is_file() and candidate.name == name:
            return candidate
    cached = hub_cache_path(model_rate)
    if cached.is_file():
        return cached
    reason = "download disabled"
    if download:
        try:
            _download(checkpoint_url(model_rate), cached)
            return cached
        except Exception as exc:  # offline, proxy refused, bad hash: all end in the one error below
            reason = f"download failed: {type(exc).__name__}: {exc}"
    raise EncodecWeightsError(missing_weights_message(model_rate, reason))


def missing_weights_message(model_rate: int, reason: str) -> str:
    """The one error text for absent weights: file name, where to put it, env var and URL."""
    name = checkpoint_name(model_rate)
    return (
        f"EnCodec {model_rate // 1000} kHz weights not found for encodec_{model_rate // 1000}k: "
        f"expected the file {name}. Put it at {hub_cache_path(model_rate)} (the torch hub cache "
        f"the `encodec` package uses), or set {ENV_VAR} to a directory holding {name}, or pass "
        f"weights_path=<file>. It normally comes from {checkpoint_url(model_rate)} ({reason})."
    )


def _build(model_rate: int) -> Any:
    from encodec import EncodecModel  # imported lazily: only weight users need the package

    factory = EncodecModel.encodec_model_24khz if model_rate == 24000 else EncodecModel.encodec_model_48khz
    # The random initialisation below is overwritten by the checkpoint; fork_rng keeps
    # it from consuming the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm deprecation
        return factory(pretrained=False)


def load_model(
    model_rate: int, weights_path: str | os.PathLike[str] | None = None, device: torch.device | str = "cpu"
) -> Any:
    """The ``encodec.EncodecModel`` for ``model_rate`` in eval mode on ``device`` (cached).

    The same (rate, resolved weights file, device) always returns the same object.
    """
    file = resolve_weights(model_rate, weights_path)

    def build() -> Any:
        state = torch.load(file, map_location="cpu", weights_only=True)
        model = _build(model_rate)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{file} is not a state dict of the EnCodec {model_rate // 1000} kHz model: {exc}") from None
        model = model.to(device).eval()
        model.requires_grad_(False)
        return model

    return _MODELS.get(model_rate, str(file.resolve()), device, build)


def clear_cache() -> None:
    """Forget every cached model (tests; freeing device memory)."""
    _MODELS.clear()
