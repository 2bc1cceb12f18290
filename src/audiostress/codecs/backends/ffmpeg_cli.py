"""ffmpeg as a subprocess: the ONLY module in audiostress that starts processes.

Rules kept here: commands are argument lists (built with ffmpeg-python's
``compile``, never shell strings); every return code is checked and ffmpeg's
stderr is quoted in the error; audio travels through in-memory pipes (raw
float32 PCM on stdin, container bytes on stdout, and back), so no temporary
files are written.

Binary lookup order: ``$AUDIOSTRESS_FFMPEG``, the binary bundled by the
imageio-ffmpeg wheel, then ``ffmpeg`` on ``PATH``.

Containers on a pipe cannot be rewritten after the fact, so the MP3 LAME/Xing
tag and the MP4 edit list are absent (MP4 is written fragmented). The decoder
then keeps the encoder priming; codecs compensate it with measured constants
for this backend (see each codec module).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from typing import Any

import numpy as np

from ._common import CodecSpec, CodecUnavailableError, RoundTrip, missing_encoder, to_float_pcm

name = "ffmpeg"

ENV_VAR = "AUDIOSTRESS_FFMPEG"
#: Seconds one ffmpeg call may take before it is killed (a clip is seconds of audio).
TIMEOUT_S = 120.0
#: stderr lines quoted in an error (the first lines usually hold the reason).
_STDERR_LINES = 8
#: Muxer options needed to write each container to a non-seekable pipe.
_PIPE_MUXER_OPTIONS = {"ipod": {"movflags": "+frag_keyframe+empty_moov"}, "mp4": {"movflags": "+frag_keyframe+empty_moov"}}


class FfmpegError(RuntimeError):
    """ffmpeg exited non-zero; the message holds the command's purpose and its stderr."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to use; raises ``CodecUnavailableError`` if none is found."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if not os.path.isfile(explicit):
            raise CodecUnavailableError(f"{ENV_VAR}={explicit!r} is not a file; point it at an ffmpeg binary")
        return explicit
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    system = shutil.which("ffmpeg")
    if system:
        return system
    raise CodecUnavailableError(
        "No ffmpeg binary found for the ffmpeg backend; pip install imageio-ffmpeg, "
        f"install ffmpeg on PATH, or set {ENV_VAR}"
    )


def run(args: list[str], stdin: bytes, purpose: str) -> bytes:
    """Run ``args`` (a list; ``args[0]`` is the binary) feeding ``stdin``; return stdout.

    Raises ``FfmpegError`` with ``purpose`` and the tail of stderr on a non-zero
    exit or a timeout.
    """
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise TypeError("ffmpeg arguments must be a list of strings")
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FfmpegError(f"ffmpeg timed out after {TIMEOUT_S:g} s while trying to {purpose}") from exc
    except OSError as exc:
        raise CodecUnavailableError(f"Could not start ffmpeg ({args[0]}): {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        lines = err.splitlines()
        shown = lines if len(lines) <= _STDERR_LINES else lines[:3] + ["..."] + lines[-(_STDERR_LINES - 4):]
        tail = " | ".join(shown) or "(no stderr)"
        raise FfmpegError(f"ffmpeg failed (exit {proc.returncode}) while trying to {purpose}: {tail}")
    return proc.stdout


def _compile(stream: Any) -> list[str]:
    return list(stream.compile(cmd=ffmpeg_exe()))


def encode(spec: CodecSpec, pcm: np.ndarray) -> bytes:
    """Encode float32 ``[C, N]`` PCM into ``spec.muxer`` container bytes via stdin/stdout."""
    import ffmpeg

    data = to_float_pcm(pcm)
    out_kwargs: dict[str, Any] = {"format": spec.muxer, "acodec": spec.encoder}
    if spec.bitrate_bps is not None:
        out_kwargs["b:a"] = str(int(spec.bitrate_bps))
    out_kwargs.update(dict(spec.options))
    out_kwargs.update(_PIPE_MUXER_OPTIONS.get(spec.muxer, {}))
    stream = ffmpeg.input("pipe:0", format="f32le", ar=spec.sample_rate, ac=data.shape[0]).output("pipe:1", **out_kwargs)
    args = _compile(stream.global_args("-hide_banner", "-nostdin", "-loglevel", "error"))
    return run(args, data.T.tobytes(), f"encode {spec.codec} with {spec.encoder}")


def decode(spec: CodecSpec, encoded: bytes) -> np.ndarray:
    """Decode container bytes to float32 ``[C, M]`` at ``spec.sample_rate``."""
    import ffmpeg

    stream = ffmpeg.input("pipe:0", format=spec.demuxer).output(
        "pipe:1", format="f32le", acodec="pcm_f32le", ac=spec.channels, ar=spec.sample_rate
    )
    args = _compile(stream.global_args("-hide_banner", "-nostdin", "-loglevel", "error"))
    raw = run(args, encoded, f"decode {spec.codec} ({spec.demuxer})")
    flat = np.frombuffer(raw, dtype="<f4")
    usable = flat.size - flat.size % spec.channels
    return flat[:usable].reshape(-1, spec.channels).T.astype(np.float32, copy=True)


def roundtrip(spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
    """Encode then decode with two ffmpeg processes connected through memory.

    Raises ``CodecUnavailableError`` (naming the encoder and the fix) when the
    binary lacks ``spec.encoder``; this is the only encoder check on this path.
    """
    if not has_encoder(spec.encoder):
        raise missing_encoder(name, spec.codec, spec.encoder)
    encoded = encode(spec, pcm)
    return RoundTrip(decode(spec, encoded), encoded)


@lru_cache(maxsize=1)
def _encoders() -> frozenset[str]:
    text = run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-encoders"], b"", "list encoders").decode("utf-8", "replace")
    names = set()
    for line in text.splitlines():
        match = re.match(r"^\s*A[.\w]{5}\s+(\S+)", line)
        if match:
            names.add(match.group(1))
    return frozenset(names)


def has_encoder(encoder: str) -> bool:
    """Whether the ffmpeg binary lists ``encoder`` among its audio encoders."""
    try:
        return encoder in _encoders()
    except (CodecUnavailableError, FfmpegError):
        return False


@lru_cache(maxsize=1)
def versions() -> dict[str, Any]:
    """The ffmpeg binary's path and version line."""
    try:
        exe = ffmpeg_exe()
        first = run([exe, "-hide_banner", "-nostdin", "-version"], b"", "read its version").decode("utf-8", "replace")
    except (CodecUnavailableError, FfmpegError) as exc:
        return {"ffmpeg_path": None, "error": str(exc)}
    line = first.splitlines()[0] if first else ""
    match = re.match(r"ffmpeg version (\S+)", line)
    return {"ffmpeg_path": exe, "ffmpeg_version": match.group(1) if match else line}
