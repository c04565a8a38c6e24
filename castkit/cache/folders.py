"""Where a recipe's cache is, and the folders no output may be written into: ``castkit cache
clean`` and ``prune`` delete files there."""

from __future__ import annotations

import os
from pathlib import Path

from castkit.base.files import real_path
from castkit.errors import UsageError
from castkit.cache.names import CACHE_ENV, CACHE_NAME, ENTRY


def check_not_in_cache(output: Path, cache_folder: Path) -> None:
    """UsageError if ``output`` lies inside ``cache_folder`` (by any name: links and ``..``
    resolved): ``castkit cache clean`` and ``prune`` delete files there."""
    real, folder = real_path(Path(output)), real_path(Path(cache_folder))
    # castkit touches only the top of a cache folder (its exact names, never subfolders), but a
    # folder named .castkit-cache is castkit's alone, and `cache clean` may remove it whole.
    # CASTKIT_CACHE_DIR may name a folder of the user's (even "."): below it is theirs.
    owned = folder.name == CACHE_NAME and folder in real.parents
    if real == folder or real.parent == folder or owned:
        raise UsageError(
            f"{output}: is inside castkit's cache folder {cache_folder}, where 'castkit cache "
            "clean' and 'prune' delete files; write the output somewhere else"
        )


def default_cache_folders(output: Path) -> list[Path]:
    """The cache folders an output of ``convert`` or ``title`` (no recipe, so no one cache)
    must stay out of: ``$CASTKIT_CACHE_DIR``, and any folder named ``.castkit-cache`` on the
    output's way (the cache of some recipe beside it). None for a cache entry's own name (a
    card or segment that castkit's printed commands make)."""
    if ENTRY.fullmatch(Path(output).name):
        return []
    folders = []
    env = os.environ.get(CACHE_ENV)
    if env:
        folders.append(Path(env))
    real = real_path(Path(output))
    folders += [p for p in (Path(os.path.abspath(output)).parent, *real.parents)
                if p.name == CACHE_NAME]
    return folders
