"""The names of the cache: its folder, the variable that moves it, and every file castkit keeps in
it. A cache folder may be any folder the user points ``CASTKIT_CACHE_DIR`` at, so castkit treats
as its own only files with exactly these names (and their temporary names, ``base.files``).

``KEY`` is the hex digest ``store.key`` makes of everything that determines a file's bytes.
"""

from __future__ import annotations

import re

from castkit.base.files import CONCAT_SUFFIX, PARTIAL_SUFFIX, PICTURES_SUFFIX

CACHE_NAME = ".castkit-cache"  # beside the recipe, unless CACHE_ENV names a folder
CACHE_ENV = "CASTKIT_CACHE_DIR"
CACHE_MAX_ENV = "CASTKIT_CACHE_MAX"  # bytes, or with a K, M or G suffix (powers of 1024)
KEY_LENGTH = 24  # hex digits of a key
SEAL_SUFFIX = ".sum"  # a segment's seal: its size and hash, beside it
SEGMENT_SUFFIXES = (".dv", ".mp4")  # raw DV; lossless-sound MP4 for the web profiles
RECORD_KINDS = ("cast", "uses", "pauses", "written", "speech", "voice", "activity")  # JSON: a
# cast's manifest, what it uses, a take's pauses, what castkit wrote to an output (``written``), a
# cast's narration levels (``speech``, for the music's ducking), a take's recognised words and its
# voice spans (``voice``, plan.speech), where its screen changes (``activity``, plan.activity)

_KEY = f"[0-9a-f]{{{KEY_LENGTH}}}"
_SEGMENT = rf"segment-{_KEY}(?:{'|'.join(map(re.escape, SEGMENT_SUFFIXES))})"
_CARD = rf"card-{_KEY}\.png"
# An encoded segment (what the runner seals), and anything castkit's printed commands write
# into the cache by name (a segment, a title card).
SEGMENT = re.compile(_SEGMENT)
ENTRY = re.compile(f"{_SEGMENT}|{_CARD}")
# Every file castkit writes in a cache folder.
CACHED = re.compile(rf"({_SEGMENT}(?:{re.escape(SEAL_SUFFIX)})?|{_CARD}"
                    rf"|(?:{'|'.join(RECORD_KINDS)})-{_KEY}\.json|loudness-{_KEY}\.af(?:{re.escape(SEAL_SUFFIX)})?|proxy-{_KEY}\.mp4"
                    rf"|music-{_KEY}\.(?:flac|fc)(?:{re.escape(SEAL_SUFFIX)})?)")
# Their temporary files: ``.NAME.PID-XXXXXXXX.partial`` (castkit before 0.2: no PID) with the
# files of its distinct pictures, and a loudness measurement's join list ``.NAME.PID.concat.txt``.
CACHED_TEMP = re.compile(r"\.(" + CACHED.pattern + r")\.(?:(?:[0-9]{1,10}-)?[a-z0-9_]{8}"
                         + re.escape(PARTIAL_SUFFIX)
                         + f"(?:{re.escape(PICTURES_SUFFIX)})?"
                         + r"|[0-9]{1,10}" + re.escape(CONCAT_SUFFIX) + ")")


def segment_name(key: str, suffix: str) -> str:
    if suffix not in SEGMENT_SUFFIXES:
        raise ValueError(f"{suffix}: not a segment suffix")
    return f"segment-{key}{suffix}"


def card_name(key: str) -> str:
    return f"card-{key}.png"


def record_name(kind: str, key: str) -> str:
    if kind not in RECORD_KINDS:
        raise ValueError(f"{kind}: not a cache record")
    return f"{kind}-{key}.json"


def loudness_name(key: str) -> str:
    return f"loudness-{key}.af"


def music_name(key: str, suffix: str) -> str:
    """A cast's music bed (``.flac``: the music at its level, faded, ducked, as long as the
    cast) or the filter that mixes it under one output's (or DV segment's) sound (``.fc``)."""
    if suffix not in (".flac", ".fc"):
        raise ValueError(f"{suffix}: not a music file suffix")
    return f"music-{key}{suffix}"


def proxy_name(key: str) -> str:
    """A capture's small copy for ``castkit serve``'s player (made again whenever needed)."""
    return f"proxy-{key}.mp4"
