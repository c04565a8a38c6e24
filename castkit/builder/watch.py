"""``castkit build --watch``: build, then build again whenever the recipe or one of its
sources is saved, until Ctrl-C. Each rebuild goes through the segment cache, so an edit costs
only the segments it changed. A failed build prints its error and the watch goes on.

Folders are watched, not files: editors save by writing a new file and renaming it over the
old one, which a watch on the old file would never see. Changes are filtered to the files
the recipe reads (read again after every build: an edit may name a new capture)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from castkit.base.progress import say
from castkit.errors import CastkitError, InputError, Interrupted
from castkit.recipe.reader import read_recipe


DEBOUNCE_MS = 300  # a save often arrives as several events; one rebuild for all of them


def watched_files(recipe: Path) -> set[Path]:
    """The recipe and every source it names (as much as can be read of a broken recipe)."""
    files = {recipe.absolute()}
    try:
        parsed, _ = read_recipe(recipe)
    except CastkitError:
        return files
    return files | {p.absolute() for p in parsed.sources()}


def _folders(files: Iterable[Path]) -> list[Path]:
    folders = []
    for file in files:
        folder = file.parent
        while not folder.is_dir() and folder != folder.parent:  # a source not made yet
            folder = folder.parent
        folders.append(folder)
    return sorted(set(folders))


def _signature(files: Iterable[Path]) -> dict[Path, tuple[int, int, int] | None]:
    """What a save changes of each file: its inode (a rename-save), size and mtime."""
    found: dict[Path, tuple[int, int, int] | None] = {}
    for file in files:
        try:
            st = file.stat()
            found[file] = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            found[file] = None
    return found


def watch(recipe: Path, build_once: Callable[[], object],
          report: Callable[[CastkitError], None]) -> None:
    """Build now and after every save with ``build_once()`` (which replaces only the outputs
    castkit wrote, ``cache.written``, unless the command line said --force). Returns never:
    Ctrl-C raises KeyboardInterrupt.

    Besides the file system's events, the files' signatures are compared with those taken
    before the last build, every half second: a save during a build, or before the watch
    had started, is not missed."""
    import watchfiles

    def attempt() -> dict:
        before = _signature(watched_files(recipe))
        try:
            build_once()
        except Interrupted:
            raise  # a stop (Ctrl-C, SIGTERM) ends the watch: it is no failed build
        except CastkitError as error:
            report(error)
            if isinstance(error, InputError) and not recipe.exists():
                say("note", f"{recipe}: waiting for the recipe to appear")
        return before

    signature = attempt()
    while True:
        files = watched_files(recipe)
        folders = _folders(files)
        say("note", f"watching {len(files)} file{'s' if len(files) != 1 else ''} "
                    f"for changes; Ctrl-C stops")
        for changes in watchfiles.watch(
            *folders, watch_filter=lambda _change, path: Path(path).absolute() in files,
            debounce=DEBOUNCE_MS, recursive=False, raise_interrupt=True,
            rust_timeout=500, yield_on_timeout=True,
        ):
            now = _signature(files)
            if not changes and now == signature:
                continue
            names = sorted({Path(path).name for _, path in changes}
                           or {f.name for f in files if now.get(f) != signature.get(f)})
            say("note", f"{', '.join(names)} changed; building again")
            signature = attempt()
            if set(signature) != files:
                break  # the recipe names other files now: watch those
