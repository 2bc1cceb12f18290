"""Opus (libopus) in Ogg, always coded at 48 kHz.

Sample rate: libopus codes at 48 kHz internally whatever rate it is given, so
the clip is resampled to 48 kHz and back here (one documented conversion instead
of one hidden in the encoder). ``band_hz`` restricts the coded audio bandwidth
(libopus ``cutoff``): 4000 = narrowband (the ASVspoof 5 "NB 8 kHz" condition),
8000 = wideband ("WB 16 kHz"), None = fullband.

Delay: the Ogg Opus pre-skip (312 samples at 48 kHz) is removed by the
demuxer. Narrowband SILK-only packets (TOC config 0..3, which libopus picks at
low bitrates or with ``band_hz=4000``) come out a further 6 samples late: the
decoder's 8 -> 48 kHz SILK resampler (measured by cross-correlation with speech
at 48 kHz, 4..30 kbps, three clips: 5..7; mediumband/wideband SILK, hybrid and
CELT packets measured 0). The packets' TOC bytes are read back from the encoded
stream and the 6 samples are cut when most packets are narrowband SILK.

libopus floors very low requests: 1, 2 and 4 kbps give identical streams
(measured), which is why the Li et al. table's 1 kbps is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param
from .backends import CodecSpec

#: Extra delay of narrowband SILK frames after pre-skip removal (samples at 48 kHz, measured).
SILK_NB_EXTRA_DELAY = 6.0
#: TOC configurations 0..3 are SILK-only narrowband (RFC 6716, section 3.1).
SILK_NB_CONFIGS = range(0, 4)
BANDS_HZ = (4000, 6000, 8000, 12000, 20000)


#: Ogg page header: capture pattern, version, header type, granule, serial, sequence, CRC, segment count.
_OGG_HEADER = 27
#: The two header packets of an Ogg Opus stream (OpusHead, OpusTags) precede the audio packets (RFC 7845).
_OPUS_HEADER_PACKETS = 2


def ogg_packets(data: bytes) -> list[bytes]:
    """The packets of a single-stream Ogg file, in order (RFC 3533: a lacing value below 255 ends a packet).

    >>> page = b"OggS" + bytes([0, 2]) + bytes(20) + bytes([2, 3, 1]) + b"abcd"
    >>> ogg_packets(page)
    [b'abc', b'd']
    """
    packets: list[bytes] = []
    partial = bytearray()
    pos = 0
    while pos + _OGG_HEADER <= len(data):
        if data[pos : pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        count = data[pos + 26]
        lacing = data[pos + _OGG_HEADER : pos + _OGG_HEADER + count]
        body = pos + _OGG_HEADER + count
        for size in lacing:
            partial += data[body : body + size]
            body += size
            if size < 255:
                packets.append(bytes(partial))
                partial.clear()
        pos = body
    return packets


def silk_nb_share(encoded: bytes) -> float:
    """Fraction of the Ogg Opus stream's audio packets that are narrowband SILK (from their TOC byte).

    The Ogg pages are read directly (``ogg_packets``): the same packets the demuxer
    gives, without opening a second container for each clip.
    """
    audio = [p for p in ogg_packets(encoded)[_OPUS_HEADER_PACKETS:] if p]
    silk = sum((p[0] >> 3) in SILK_NB_CONFIGS for p in audio)
    return silk / len(audio) if audio else 0.0


@register
class Opus(LossyCodec):
    """Opus round trip at ``bitrate_kbps`` (48 kHz internally), delay-compensated."""

    name = "opus"
    description = "Opus (libopus, Ogg) at bitrate_kbps, coded at 48 kHz; band_hz limits the band (4000 = NB)."
    encoder = "libopus"
    muxer = "ogg"
    demuxer = "ogg"
    native_rates = (48000,)
    params = (
        Param("bitrate_kbps", 16.0, float, low=0.5, high=256.0, unit="kbps", help="target bitrate (VBR)"),
        Param(
            "band_hz", None, int, choices=BANDS_HZ, unit="Hz", optional=True,
            help="audio bandwidth: 4000 NB, 6000 MB, 8000 WB, 12000 SWB, 20000/None FB",
        ),
        backend_param(("pyav", "ffmpeg")),
    )
    # Li, Chen & Wei 2025 Opus kbps {1, 2, 4, 8, 16, 31}: five of them, mildest first (1 dropped,
    # since libopus floors 1, 2 and 4 kbps to the same stream).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench Opus kbps 31, 16, 8, 4, 2 (1 omitted: same stream as 2 and 4)",
        tuple({"bitrate_kbps": float(k)} for k in (31, 16, 8, 4, 2)),
    )
    tables = {
        "codecs": SeverityTable(
            "codecs",
            "ArtifactNet/ArtifactBench opus@128k (libopus); levels 1-4 a ladder down to it",
            tuple({"bitrate_kbps": float(k)} for k in (256, 224, 192, 160, 128)),
        ),
        "asvspoof5_wb": SeverityTable(
            "asvspoof5_wb",
            "ASVspoof 5 C01 Opus WB (16 kHz band) 6-30 kbps",
            tuple({"bitrate_kbps": float(k), "band_hz": 8000} for k in (30, 24, 16, 10, 6)),
        ),
        "asvspoof5_nb": SeverityTable(
            "asvspoof5_nb",
            "ASVspoof 5 C08 Opus NB (8 kHz band) 4-20 kbps",
            tuple({"bitrate_kbps": float(k), "band_hz": 4000} for k in (20, 16, 12, 8, 4)),
        ),
    }

    def encoder_options(self, params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        band = params.get("band_hz")
        return () if band is None else (("cutoff", str(int(band))),)

    def residual_delay(self, backend: str, spec: CodecSpec, encoded: bytes) -> float:
        return SILK_NB_EXTRA_DELAY if silk_nb_share(encoded) > 0.5 else 0
