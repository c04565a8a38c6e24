"""The command line: parses arguments, calls the library, prints errors. Nothing else."""

from __future__ import annotations

import os
import shlex
import sys


def _forget_current_folder() -> None:
    """``python -m castkit`` puts the current folder first on ``sys.path``, so a ``yaml.py``,
    ``argparse.py``, ``PIL/`` or ``test.py`` (the pattern of CVE-2025-50817) in a folder of
    captures someone sent would be imported as code. castkit imports nothing from the folder it
    works in: drop that entry, as ``python -P`` would. Runs before castkit's other imports."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if getattr(spec, "name", None) != "castkit.__main__" or not sys.path:
        return
    first = sys.path[0]
    if first in ("", ".") or os.path.abspath(first) == os.getcwd():
        del sys.path[0]


_forget_current_folder()

import argparse  # noqa: E402 - after the sys.path fix above, on purpose
import re  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Sequence  # noqa: E402

from . import __version__  # noqa: E402
from .media.ffmpeg import find_ffmpeg, find_ffmpeg_soon
from .base.progress import Progress, counted, say
from .base.files import shown_path
from .base.stops import install_sigterm_handler
from .media.dv import ASPECTS, STANDARDS, DvTarget
from .base.timecode import TimecodeError, format_time, parse_time
from .recipe.style import TitleStyle
from .errors import CastkitError, Interrupted, UsageError, echo


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as every user error
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--standard", choices=STANDARDS, default="pal", help="DV flavour (default: pal)")
    parser.add_argument("--aspect", choices=ASPECTS, default="4:3", help="display aspect (default: 4:3)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace OUTPUT even if castkit did not write it, or it changed since")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="castkit",
        description="Screencasts from one YAML recipe: title cards, trimmed captures, voice-overs, "
                    "pauses cut, joined into DV (PAL/NTSC .dv, .avi) and web (.mp4, .webm) masters "
                    "with chapters and captions, or exported as a project for Shotcut, Kdenlive, "
                    "Resolve or Kino. Start with: castkit init CAPTURE",
    )
    parser.add_argument("--version", action="version", version=f"castkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("convert", help="convert one capture to DV, MP4 or WebM")
    p.add_argument("input", type=_local_path, metavar="INPUT")
    p.add_argument("-o", "--output", type=_local_path, metavar="OUTPUT",
                   help=".dv (raw DV), .avi (DV in AVI), .mp4 (H.264/AAC) or .webm (AV1/Opus) "
                        "at the capture's own size; default: INPUT with .dv")
    _target_options(p)
    _common(p)

    p = sub.add_parser("title", help="draw one title card, as an image or a clip")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-o", "--output", type=_local_path, metavar="OUTPUT", default=None,
                   help=".png/.jpg for the still, .dv/.avi/.mp4/.webm for a clip (default: title.dv)")
    p.add_argument("--size", type=_size_arg, metavar="WxH",
                   help="size of a still or a web clip in pixels (default: the DV display size "
                        "for stills, 1920x1080 for .mp4/.webm)")
    p.add_argument("--subtitle", metavar="TEXT")
    p.add_argument("--duration", default="4", metavar="SECONDS",
                   help="clip length: seconds, MM:SS or HH:MM:SS (default: 4)")
    _target_options(p)
    p.add_argument("--background", default=TitleStyle.background, metavar="COLOR|IMAGE",
                   help=f"a colour (CSS name or #rrggbb) or an image file (default: {TitleStyle.background})")
    p.add_argument("--color", default=TitleStyle.color, metavar="COLOR", help="text colour (default: white)")
    p.add_argument("--font", type=_local_path, metavar="FILE", help="a .ttf/.otf font (default: DejaVu Sans)")
    _common(p)

    p = sub.add_parser(
        "build", help="build the whole cast from a recipe (or several, as one batch)",
        epilog="Several recipes are built as one plan: one pool of jobs, each shared segment "
               "encoded once. A recipe with a mistake is reported on one line and the others "
               "go on. Exit status: 0 all built; 2 the only failures were recipe, input or "
               "usage errors; 1 ffmpeg or the system failed. --scheduler (or "
               "$CASTKIT_SCHEDULER) sends the encodes to a Dask cluster's workers, which need "
               "castkit and the same paths (pip install 'castkit[farm]').")
    p.add_argument("recipe", type=_local_path, metavar="RECIPE", nargs="+")
    p.add_argument("-o", "--output", type=_local_path, metavar="OUTPUT",
                   help="build this one file (.dv, .avi, .mp4, .webm) instead of the recipe's "
                        "outputs (one recipe only)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="encode on this Dask scheduler's workers (default: $CASTKIT_SCHEDULER, "
                        "else here); joins stay here")
    p.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="JOBS",
                   help="segments encoded side by side (default: one per CPU core)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the recipe and print every ffmpeg command; write nothing")
    p.add_argument("--no-cache", action="store_true", help="encode every segment again")
    p.add_argument("--watch", action="store_true",
                   help="build again whenever the recipe or a source is saved, until Ctrl-C")
    _common(p)

    p = sub.add_parser("transcribe", help="the words of each capture, beside it, to edit the take by its text",
                       epilog="Writes NAME.transcript.txt (to read and edit) and NAME.transcript.json "
                              "beside each capture. Needs pip install 'castkit[speech]'.")
    p.add_argument("captures", type=_local_path, metavar="CAPTURE", nargs="+")
    p.add_argument("--model", metavar="NAME|DIR", default=None,
                   help="a faster-whisper model name (fetched on first use) or a local model folder "
                        "(default: $CASTKIT_SPEECH_MODEL, else base.en)")
    p.add_argument("--language", metavar="CODE", default=None, help="the language spoken (default: detected)")
    _common(p)

    p = sub.add_parser("preview", help="a storyboard of the cast as a PNG, without encoding it")
    p.add_argument("recipe", type=_local_path, metavar="RECIPE")
    p.add_argument("-o", "--output", type=_local_path, metavar="BOARD.png",
                   help="default: beside the cast, named CAST-board.png")
    _common(p)

    p = sub.add_parser("cache", help="manage the segment cache")
    cache_sub = p.add_subparsers(dest="cache_command", metavar="ACTION", parser_class=_Parser)
    cache_sub.required = True
    clean = cache_sub.add_parser("clean", help="drop every cached segment and card")
    clean.add_argument("recipe", type=_local_path, nargs="?", metavar="RECIPE",
                       help="the recipe whose cache to drop (default: $CASTKIT_CACHE_DIR or ./.castkit-cache)")
    prune = cache_sub.add_parser(
        "prune", help="drop what no cast built from the cache is made of (old takes, old titles)")
    prune.add_argument("recipe", type=_local_path, nargs="?", metavar="RECIPE",
                       help="the recipe whose cache to prune (default: $CASTKIT_CACHE_DIR or ./.castkit-cache)")

    p = sub.add_parser("probe", help="what castkit sees in media files")
    p.add_argument("files", type=_local_path, nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("export", help="the edit as a project for an editor (Shotcut, Kdenlive, Resolve, Kino)")
    p.add_argument("recipe", type=_local_path, metavar="RECIPE")
    p.add_argument("-o", "--output", type=_local_path, metavar="EDIT", required=True,
                   help=".mlt (Shotcut), .kdenlive, .otio (Resolve, Kdenlive 25.04+), .smil (Kino) "
                        "or .edl (CMX 3600); title cards go to EDIT-cards/ beside it")
    _common(p)

    p = sub.add_parser("serve", help="see the cast and set its cuts in the browser; the recipe stays the truth")
    p.add_argument("recipe", type=_local_path, metavar="RECIPE")
    p.add_argument("--port", type=_port, default=None, metavar="N",
                   help="the port (default: 8765 or the next free one; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="the address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-open", action="store_true", help="print the page's address, open no browser")

    sub.add_parser("schema", help="print the JSON Schema of a recipe (for editors that check YAML)")

    p = sub.add_parser("init", help="a first recipe for your recordings, and a contact sheet of each",
                       description="Write a recipe that builds as it is (a title, each capture "
                                   "whole, a closing card, DV and MP4 masters), commented for the "
                                   "next steps, and beside each capture CAPTURE.sheet.png: a frame "
                                   "every few seconds with its time, still and silent stretches "
                                   "marked, to read trim points from.")
    p.add_argument("captures", type=_local_path, nargs="+", metavar="CAPTURE")
    p.add_argument("-o", "--output", type=_local_path, metavar="RECIPE", default=Path("cast.yaml"),
                   help="the recipe to write (default: cast.yaml)")
    _common(p)

    p = sub.add_parser("help", help="castkit help recipe: every key of a recipe, one line each")
    p.add_argument("topic", choices=("recipe",), metavar="TOPIC", help="recipe")

    sub.add_parser("doctor", help="which ffmpeg castkit uses and whether it has what castkit needs")
    return parser


# castkit hands ffmpeg every path as a file: URL, so "concat:a|b" or "a:b.ogv" are just odd
# local names; something spelled like a URL is almost surely meant as one, and is refused.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _local_path(text: str) -> Path:
    """A file name from the command line: local files only, one line, not empty."""
    if not text:
        raise argparse.ArgumentTypeError("an empty file name")
    if _URL.match(text):
        raise argparse.ArgumentTypeError(f"{echo(text)} is a URL; castkit reads and writes local files only")
    if "\n" in text or "\r" in text or "\0" in text:
        # Messages name files on one line, and concat lists and printed commands are line based.
        raise argparse.ArgumentTypeError(f"{echo(text)}: a line break in a file name is not supported")
    try:
        str(Path(text).absolute()).encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 (Python keeps them as surrogates): ffmpeg-python, which
        # builds every command, cannot hash them, and castkit's messages could not print them.
        raise argparse.ArgumentTypeError(f"{echo(text)}: its name, or a folder's in its path, is not "
                                         "UTF-8 text; rename it") from None
    return Path(text)


def _size_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})x(\d{1,5})", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a size like 1920x1080")
    width, height = int(match[1]), int(match[2])
    if width % 2 or height % 2 or not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise argparse.ArgumentTypeError("width and height must be even, 16x16 to 7680x4320")
    return width, height


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{echo(text)} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535, or 0: any free one)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run castkit; returns the exit status (0 done, 1 work failed, 2 bad usage or input,
    130 stopped) and never raises: every failure is one message on stderr, never a traceback."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error argparse has printed
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    install_sigterm_handler()
    try:
        return _COMMANDS[args.command](args)
    except Interrupted as error:  # the user stopped castkit: said, but no error
        _stopped(str(error))
        return error.exit_status
    except CastkitError as error:
        _say(str(error))
        return error.exit_status
    except KeyboardInterrupt:
        _stopped("stopped")
        return 130
    except BrokenPipeError:
        # `castkit probe ... | head`: the reader left; nothing to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as error:
        # The system refused something no layer below put in words (a full disk, a folder
        # that vanished): still one line naming the file, and the "system failed" status.
        where = f"{error.filename}: " if error.filename else ""
        _say(f"{where}{error.strerror or error}")
        return 1
    except Exception as error:  # noqa: BLE001 - the last guard of "never a traceback"
        if os.environ.get("CASTKIT_DEBUG"):
            raise
        _say(f"internal error: {type(error).__name__}: {error}\n"
             "this is a bug in castkit; run again with CASTKIT_DEBUG=1 to see where")
        return 1


def _say(message: str) -> None:
    say("error", message)


def _stopped(message: str) -> None:
    """``castkit: stopped`` (and what was left), as a shell says a job was stopped: no error."""
    sys.stderr.write(f"castkit: {message}\n")


def _progress(args: argparse.Namespace) -> Progress:
    return Progress.quiet() if args.quiet else Progress()


def _ffmpeg_runner(**options):
    """castkit's runner, imported when a command runs: ``castkit build`` starts its index reads
    before it imports the runner and the builder."""
    from .run.runner import FfmpegRunner

    return FfmpegRunner(**options)


def _target(args: argparse.Namespace) -> DvTarget:
    return DvTarget(args.standard, args.aspect)


def _convert(args: argparse.Namespace) -> int:
    from .commands.convert import convert

    progress = _progress(args)
    job = convert(
        args.input, args.output, _target(args), force=args.force,
        runner=_ffmpeg_runner(progress=progress),
    )
    if not args.quiet:
        _done(job.output, _what(job.frames, job.profile))
    return 0


def _what(frames: int, profile) -> str:
    """``125 frames, 0:05.00, PAL DV 4:3``: what a written cast or clip holds."""
    return f"{counted(frames, 'frame')}, {format_time(profile.raster.seconds(frames))}, {profile.name}"


def _done(path: Path, what: str) -> None:
    sys.stderr.write(f"castkit: wrote {_shown(path)} ({what})\n")


def _shown(path: Path) -> str:
    """A path as short as it can be said: relative to here when below here, no '..' parts."""
    return shown_path(path)


def _title(args: argparse.Namespace) -> int:
    from .commands.title import make_title

    try:
        seconds = parse_time(args.duration)
    except TimecodeError as exc:
        raise UsageError(f"--duration: {exc}") from None
    if seconds <= 0:
        raise UsageError("--duration must be more than zero")
    from .recipe.model import MAX_SECONDS

    if seconds > MAX_SECONDS:  # a day of title card is a typo, and 300 GB of DV
        raise UsageError(f"--duration {format_time(seconds)} is longer than a day")
    output = args.output or Path("title.dv")
    style = TitleStyle(background=args.background, color=args.color, font=args.font)
    target = _target(args)
    frames = make_title(
        args.text, output, subtitle=args.subtitle, seconds=seconds, target=target, style=style,
        size=args.size, force=args.force, runner=_ffmpeg_runner(progress=_progress(args)),
    )
    if not args.quiet:
        from .outputs.profiles import make_profile
        from .media.raster import WebRaster

        profile = make_profile(output, target, WebRaster(*args.size) if args.size else WebRaster()) if frames else None
        _done(output, _what(frames, profile) if profile else "title card")
    return 0


def _build(args: argparse.Namespace) -> int:
    find_ffmpeg_soon()  # while the builder is imported
    if len(args.recipe) == 1 and not args.watch:
        from .builder.indexes import read_soon

        read_soon(args.recipe[0])  # a deep trim's keyframe index, read while the builder is imported
    from .builder.build import build
    from .run.farm import executor_for
    from .run.runner import DryRunRunner

    if len(args.recipe) > 1:
        if args.output is not None:
            raise UsageError("-o names one output: it cannot be used with several recipes")
        if args.watch:
            raise UsageError("--watch follows one recipe: it cannot be used with several")
    if args.watch:
        args.recipe = args.recipe[0]
        return _watch(args)

    # --dry-run prints the jobs and needs no cluster.
    executor = None if args.dry_run else executor_for(args.scheduler)
    try:
        runner = DryRunRunner() if args.dry_run else _ffmpeg_runner(
            progress=_progress(args), workers=args.jobs, executor=executor)
        if len(args.recipe) > 1:
            return _batch(args, runner)
        planned = build(
            args.recipe[0], args.output, force=args.force, dry_run=args.dry_run,
            use_cache=not args.no_cache, workers=args.jobs, runner=runner,
        )
    finally:
        if executor is not None:
            executor.close()
    if not args.quiet and not args.dry_run:
        for cast in planned.casts:
            _done(cast.output, _what(cast.frames, cast.profile))
        if not args.no_cache:
            _cache_note(planned, args.recipe[0])
    return 0


def _batch(args: argparse.Namespace, runner) -> int:
    """Several recipes: each cast written, each recipe that failed on one line, a summary."""
    from .builder.batch import build_many, one_line

    result = build_many(args.recipe, force=args.force, dry_run=args.dry_run,
                        use_cache=not args.no_cache, runner=runner)
    for outcome in result.outcomes:
        if outcome.error is not None and outcome.planned is not None:  # failed while running
            first = (str(outcome.error).splitlines() or [type(outcome.error).__name__])[0]
            more = " (in full below)" if outcome.error is result.run_error else ""
            _say(f"{outcome.recipe}: not built: {first}{more}")
        elif outcome.error is not None:
            _say(one_line(outcome.recipe, outcome.error))
        elif not args.quiet and not args.dry_run:
            for cast in outcome.planned.casts:
                _done(cast.output, _what(cast.frames, cast.profile))
    if result.run_error is not None:  # in full: it ends with what ffmpeg said
        _say(str(result.run_error))
    failed = [o for o in result.outcomes if o.error is not None]
    if failed:
        built = len(result.outcomes) - len(failed)
        verb = "planned" if args.dry_run else "built"
        _say(f"{built} of {len(result.outcomes)} recipes {verb}; failed: "
             + ", ".join(shlex.quote(str(o.recipe)) for o in failed))
    return result.exit_status


def _watch(args: argparse.Namespace) -> int:
    from .builder.build import build
    from .builder.watch import watch

    from .run.farm import executor_for

    if args.dry_run:
        raise UsageError("--watch builds; it cannot be combined with --dry-run")
    executor = executor_for(args.scheduler)  # one connection for the whole watch

    def once() -> None:
        # What castkit wrote is replaced as in any build; anything else only with --force
        # (an output renamed to a file castkit never wrote is not replaced).
        planned = build(args.recipe, args.output, force=args.force,
                        use_cache=not args.no_cache, workers=args.jobs,
                        runner=_ffmpeg_runner(progress=_progress(args), workers=args.jobs,
                                            executor=executor))
        for cast in planned.casts:
            _done(cast.output, _what(cast.frames, cast.profile))

    try:
        watch(args.recipe, once, lambda error: _say(str(error)))
    finally:
        if executor is not None:
            executor.close()
    return 0  # pragma: no cover - watch returns only by Ctrl-C


_NOTE_UNUSED_OVER = 100 * 10**6


def _cache_note(planned, recipe: Path) -> None:
    """Rounds of edits leave superseded segments in the cache; once they outweigh the cast
    itself (and 100 MB), say so, and how to drop them."""
    from .cache.housekeeping import unused_cache_bytes

    folder = planned.cache
    unused = unused_cache_bytes(folder)
    casts = sum(cast.output.stat().st_size for cast in planned.casts if cast.output.exists())
    if unused > max(_NOTE_UNUSED_OVER, casts):
        say("note", f"{_shown(folder)} also holds {_size(unused)} that no cast is made of any more; "
                    f"`castkit cache prune {shlex.quote(str(recipe))}` removes it")


def _preview(args: argparse.Namespace) -> int:
    from .commands.preview import preview

    pages = preview(args.recipe, args.output, force=args.force, runner=_ffmpeg_runner(progress=_progress(args)))
    if not args.quiet:
        for n, page in enumerate(pages, 1):
            _done(page, "storyboard" if len(pages) == 1 else f"storyboard {n} of {len(pages)}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from .cache.names import CACHE_ENV, CACHE_NAME
    from .cache.keys import cache_dir
    from .cache.housekeeping import clean_cache, prune_cache
    from .recipe.reader import read_recipe

    if args.recipe is not None:
        # The recipe's own mistakes do not matter here: only where its cache is.
        folder = cache_dir(read_recipe(args.recipe)[0])
    else:
        folder = Path(os.environ.get(CACHE_ENV) or CACHE_NAME)
    files, size = (prune_cache if args.cache_command == "prune" else clean_cache)(folder)
    print(f"removed {_files(files, size)} from {_shown(folder)}")
    return 0


def _files(count: int, size: int) -> str:
    return f"{count} cached file{'s' if count != 1 else ''} ({_size(size)})"


def _size(size: int) -> str:
    if size >= 10**9:
        return f"{size / 10**9:.1f} GB"
    return f"{size / 10**6:.1f} MB" if size >= 10**5 else f"{size // 1000} kB"


def _probe(args: argparse.Namespace) -> int:
    import json

    from .media.probe import describe, probe

    ffmpeg = find_ffmpeg()
    infos = []
    failures = []
    for path in args.files:
        try:
            infos.append(probe(path, ffmpeg, need_video=False))
        except CastkitError as error:
            failures.append(error)
    if args.json:
        print(json.dumps([info.as_dict() for info in infos], indent=2))
    elif infos:
        print("\n\n".join(describe(info) for info in infos))
    for error in failures:
        _say(str(error))
    return max((e.exit_status for e in failures), default=0)


def _export(args: argparse.Namespace) -> int:
    from .exports import export

    timeline = export(args.recipe, args.output, force=args.force)
    if not args.quiet:
        _done(args.output, f"{counted(len(timeline.parts), 'part')}, "
                           f"{_what(timeline.frames, _DvProfile(timeline.target))}")
    return 0


class _DvProfile:  # what _what needs of a profile: its raster and its name
    def __init__(self, target) -> None:
        self.raster, self.name = target, target.name


def _schema(args: argparse.Namespace) -> int:  # noqa: ARG001
    from .recipe.schema import schema_text

    sys.stdout.write(schema_text())
    return 0


def _init(args: argparse.Namespace) -> int:
    from .commands.init import init

    sheets = init(args.captures, args.output, force=args.force,
                  runner=_ffmpeg_runner(progress=_progress(args)))
    if not args.quiet:
        for sheet in sheets:
            _done(sheet.path, f"contact sheet, a frame every {sheet.every} s")
        _done(args.output, f"recipe; next: castkit preview {shlex.quote(_shown(args.output))}")
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    from .commands.transcribe import transcribe_captures

    written = transcribe_captures(args.captures, model=args.model, language=args.language,
                                  force=args.force, quiet=args.quiet)
    if not args.quiet:
        for path in written:
            _done(path, "transcript; delete words or lines to cut them (transcript: on a clip)")
    return 0


def _help(args: argparse.Namespace) -> int:  # noqa: ARG001 - one topic so far
    from .recipe.schema import key_help

    sys.stdout.write(key_help())
    return 0


def _doctor(args: argparse.Namespace) -> int:  # noqa: ARG001
    from .commands.doctor import check

    report, ok = check(find_ffmpeg())
    print(report)
    return 0 if ok else 1


def _serve(args: argparse.Namespace) -> int:
    from .serve.server import serve

    return serve(args.recipe, host=args.host, port=args.port, open_browser=not args.no_open)


_COMMANDS = {
    "serve": _serve,
    "convert": _convert,
    "title": _title,
    "build": _build,
    "cache": _cache,
    "preview": _preview,
    "probe": _probe,
    "doctor": _doctor,
    "schema": _schema,
    "init": _init,
    "transcribe": _transcribe,
    "help": _help,
    "export": _export,
}
