"""What the upload check concludes about a file (plain data, handed to other domains)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaInfo:
    """A file the check accepted: an ``audio`` or ``video`` lecture.

    ``width``/``height`` are as displayed (rotation applied); 0 for audio. ``hdr`` is true
    for HDR video (PQ or HLG transfer), which the transcoder tone-maps to SDR BT.709.
    """

    kind: str
    duration: float
    container: str
    video_codec: str | None
    audio_codec: str | None
    width: int
    height: int
    rotation: int
    bit_depth: int
    hdr: bool = False
