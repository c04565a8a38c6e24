"""Keys: a hash of everything that determines a cached file's bytes (the ffmpeg commands, the
sources' identities, the ffmpeg version), and where a recipe's cache folder is. A rebuild finds
a segment by its key; anything that changes its bytes changes its key.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from castkit.cache.names import CACHE_ENV, CACHE_NAME, KEY_LENGTH
from castkit.recipe.model import Recipe, style_files, TitleSegment

# Raised whenever a change would alter the bytes castkit writes for the same job (cache keys).
FORMAT_VERSION = 1


def cache_dir(recipe: Recipe) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else recipe.folder / CACHE_NAME


def file_identity(path: Path) -> list:
    """What makes a source 'the same file' to the cache: where it is, its size and mtime."""
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def key(*parts: object) -> str:
    blob = json.dumps([FORMAT_VERSION, *parts], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


def card_key(seg: TitleSegment, size: tuple[int, int]) -> str:
    """A title card's key: its text, its style (and the style's files), its size."""
    style = seg.style
    files = [file_identity(p) for p in style_files(style)]
    return key("card", seg.title, seg.subtitle, style.background, style.color,
                str(style.font), files, size)


# A transcript names the capture it was made from by its content (issue 24): its size and the
# SHA-256 of its first MiB, which a copy or a move keeps, with the mtime for the record.
HEAD_BYTES = 1024 * 1024


def content_identity(path: Path) -> dict:
    """What makes a capture 'the same recording' to a transcript: size, mtime, first MiB's hash."""
    with open(path, "rb") as f:
        head = hashlib.sha256(f.read(HEAD_BYTES)).hexdigest()
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": head}


def same_content(a: dict, b: dict) -> bool:
    return a.get("size") == b.get("size") and a.get("head_sha256") == b.get("head_sha256")
