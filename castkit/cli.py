"""The command line: parses arguments, calls the library, prints errors. Nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from ._ffmpeg import find_ffmpeg
from ._progress import Progress
from ._runner import FfmpegRunner, install_sigterm_handler
from ._target import ASPECTS, STANDARDS, DvTarget
from ._timecode import format_time
from .errors import CastkitError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as every user error
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--standard", choices=STANDARDS, default="pal", help="DV flavour (default: pal)")
    parser.add_argument("--aspect", choices=ASPECTS, default="4:3", help="display aspect (default: 4:3)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="castkit",
        description="Screencasts to DV: title cards, trims and joins from one YAML recipe.",
    )
    parser.add_argument("--version", action="version", version=f"castkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("convert", help="convert one capture to DV")
    p.add_argument("input", type=Path, metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, metavar="OUTPUT",
                   help=".dv (raw DV) or .avi (DV in AVI); default: INPUT with .dv")
    _target_options(p)
    _common(p)

    p = sub.add_parser("probe", help="what castkit sees in media files")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("doctor", help="which ffmpeg castkit uses and whether it has what castkit needs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    install_sigterm_handler()
    try:
        return _COMMANDS[args.command](args)
    except CastkitError as error:
        _say(str(error))
        return error.exit_status
    except KeyboardInterrupt:
        _say("stopped")
        return 130
    except BrokenPipeError:
        # `castkit probe ... | head`: the reader left; nothing to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _say(message: str) -> None:
    lines = message.splitlines() or [""]
    sys.stderr.write("castkit: error: " + lines[0] + "\n")
    for line in lines[1:]:
        sys.stderr.write("  " + line + "\n")
    sys.stderr.flush()


def _progress(args: argparse.Namespace) -> Progress:
    return Progress.quiet() if args.quiet else Progress()


def _target(args: argparse.Namespace) -> DvTarget:
    return DvTarget(args.standard, args.aspect)


def _convert(args: argparse.Namespace) -> int:
    from ._convert import convert

    progress = _progress(args)
    job = convert(
        args.input, args.output, _target(args), force=args.force,
        runner=FfmpegRunner(progress=progress),
    )
    if not args.quiet:
        target = _target(args)
        _done(f"{job.output} ({job.frames} frames, {format_time(target.seconds(job.frames))}, {target.name})")
    return 0


def _done(text: str) -> None:
    sys.stderr.write(f"castkit: wrote {text}\n")


def _probe(args: argparse.Namespace) -> int:
    import json

    from ._probe import describe, probe

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
    else:
        print("\n\n".join(describe(info) for info in infos))
    for error in failures:
        _say(str(error))
    return max((e.exit_status for e in failures), default=0)


def _doctor(args: argparse.Namespace) -> int:  # noqa: ARG001
    from ._doctor import check

    report, ok = check(find_ffmpeg())
    print(report)
    return 0 if ok else 1


_COMMANDS = {
    "convert": _convert,
    "probe": _probe,
    "doctor": _doctor,
}
