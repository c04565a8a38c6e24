"""Jobs and plans: what planning hands the runner, and how ffmpeg reads castkit's paths.

A ``Plan`` is stages of jobs. Every job has a ``label``, an ``output`` it makes, the ``frames``
it holds (for progress), the files it ``reads()``, its ``shell()`` form (what ``--dry-run``
prints) and, where it can begin before the jobs it reads end, ``open_sink()``. A ``Job`` is
one ffmpeg run (``in_process`` False), possibly after in-process ``Step``s (a title card
drawn, the cast's loudness measured); an ``InProcessJob`` is done by castkit itself
(``render()``: the byte join of a raw DV cast, a sidecar text file).
"""

from __future__ import annotations

import shlex
from fractions import Fraction
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, Sequence

from castkit.errors import UsageError


def file_url(path: Path | str) -> str:
    """A path as ffmpeg must see it: ``file:`` keeps ``-x.dv`` from being an option and
    ``a:b.ogv`` from being a protocol."""
    return f"file:{path}"


def quote_token(text: str) -> str:
    """``text`` as one token of libavutil's av_get_token (the concat demuxer's file names, the
    tee muxer's outputs): ``'...'`` is read literally; a quote is closed, escaped, reopened."""
    return "'" + text.replace("'", "'\\''") + "'"


class Step(Protocol):
    """An in-process step done just before a job's ffmpeg (``Job.prepare``)."""

    # May run on a farm's worker that shares the files (a title card drawn there), or only
    # here (a loudness measurement reads the whole cast's segments, made here).
    portable: ClassVar[bool]

    def render(self) -> None: ...

    def shell(self) -> str: ...

    def reads(self) -> tuple[Path, ...]: ...


@dataclass(frozen=True)
class Job:
    """One ffmpeg run: ``argv`` writes ``output`` (its last argument, as a ``file:`` URL).

    ``frames`` is what the output will hold, for progress. ``writes`` are small text files
    (concat lists) the runner writes before starting ffmpeg; ``prepare`` are in-process steps
    (objects with ``render()`` and ``shell()``: a title card drawn) done just before it.
    ``size``, where known (raw DV: frames x frame size), is what a complete output measures;
    anything else is not finished.
    """

    label: str
    argv: tuple[str, ...]
    output: Path
    frames: int
    inputs: tuple[Path, ...] = ()
    writes: tuple[tuple[Path, str], ...] = ()
    size: int | None = None
    prepare: tuple[Any, ...] = ()
    profile: Any = None  # the output profile it encodes for, where it encodes
    note: str | None = None  # shown by --dry-run as a comment: why the job is planned so
    # In-process steps (``apply(path)``, ``shell()``) on the finished temporary output before
    # it takes its name: the DV timecode of an AVI cast made continuous.
    finish: tuple[Any, ...] = ()
    # A raw DV encode's distinct pictures (``media.pictures.Pictures``), encoded first by an
    # ffmpeg of their own; ``argv`` then reads their frames from stdin, castkit feeding them.
    pictures: Any = None


    def __post_init__(self) -> None:
        if self.argv[-1] != file_url(self.output):
            raise ValueError("a job's argv must end with its output")

    in_process: ClassVar[bool] = False

    def reads(self) -> tuple[Path, ...]:
        """The files the job needs: its inputs and what its steps read."""
        return (*self.inputs, *(path for step in self.prepare for path in step.reads()))

    def open_sink(self) -> None:
        """An ffmpeg job begins only once the jobs it reads have ended."""
        return None

    def with_output(self, output: Path) -> Job:
        """The same job writing elsewhere (the runner's temporary name)."""
        argv = (*self.argv[:-1], file_url(output))
        return replace(self, argv=argv, output=output)

    def after(self, *steps: Any) -> Job:
        """The same job, with ``steps`` done first (a title card for its still)."""
        return replace(self, prepare=self.prepare + steps)

    def shell(self) -> str:
        """Copy-pastable shell lines: the files the job needs, then the command."""
        lines = [f"# {line}" for line in self.note.splitlines()] if self.note else []
        lines += [step.shell() for step in self.prepare]
        lines += [
            f"cat > {shlex.quote(str(path))} <<'CASTKIT_EOF'\n{text}CASTKIT_EOF"
            for path, text in self.writes
        ]
        command = shlex.join(self.argv)
        lines.append(self.pictures.shell(self.output, command) if self.pictures else command)
        lines += [step.shell() for step in self.finish]
        return "\n".join(lines)


def concat_list(parts: Sequence[Path], spans: Sequence[Any] = (),
                seconds: Sequence[Fraction] | None = None) -> str:
    """An ffconcat script naming ``parts`` (absolute paths, quoted for the concat demuxer).

    ``spans``: for each part, None or the (in, out) seconds of it to take (DV: frame-exact).
    ``seconds``: each part's exact length, given as its ``duration`` so that the demuxer starts
    the next part there. Without it, ffmpeg 5.1 starts it where the part's MP4 header says it
    ends, in milliseconds: a part of 8 frames at 30 fps moved every later frame by 0.4 ms. The
    lengths are written as the differences of the rounded running total, in microseconds (the
    demuxer's unit), so the rounding never adds up."""
    lines = ["ffconcat version 1.0"]
    ends = [Fraction(0)]
    for length in seconds or ():
        ends.append(ends[-1] + length)
    micros = [round(end * 1_000_000) for end in ends]
    for n, part in enumerate(parts):
        text = str(Path(part).absolute())
        if "\n" in text or "\r" in text:
            raise UsageError(f"{text!r}: a line break in a file name cannot be joined")
        lines.append("file " + quote_token(file_url(text)))
        span = spans[n] if n < len(spans) else None
        if span is not None:
            lines += [f"inpoint {float(span[0]):.6f}", f"outpoint {float(span[1]):.6f}"]
        if seconds is not None:
            us = micros[n + 1] - micros[n]
            lines.append(f"duration {us // 1_000_000}.{us % 1_000_000:06d}")
    return "\n".join(lines) + "\n"


class InProcessJob:
    """A job castkit does itself, no ffmpeg (the byte join of a raw DV cast, a sidecar file):
    ``render()`` makes ``output`` and returns a word for the progress display."""

    in_process: ClassVar[bool] = True
    # What the runner asks of every job (a Job's fields), for an in-process one.
    writes: ClassVar[tuple[tuple[Path, str], ...]] = ()
    prepare: ClassVar[tuple[Any, ...]] = ()
    profile: ClassVar[Any] = None
    inputs: tuple[Path, ...] = ()

    def render(self) -> str | None:
        raise NotImplementedError

    def shell(self) -> str:
        raise NotImplementedError

    def reads(self) -> tuple[Path, ...]:
        return tuple(self.inputs)

    def open_sink(self) -> Any:
        """A sink that takes the jobs' outputs it reads while they are written (see
        ``run.local.Sink``), or None: it runs once they have ended."""
        return None


@dataclass(frozen=True)
class Plan:
    """Jobs in stages: every job of a stage may run in parallel once the previous is done."""

    stages: tuple[tuple[Job, ...], ...] = field(default_factory=tuple)
    # Seal the cache segments as they are made (``cache.seals``). False where they go to a
    # --no-cache build's own folder, removed after it: nothing ever reads them again, and
    # hashing a 30 s DV segment (108 MB) cost a deep trim 0.1 s of CPU.
    seal: bool = True

    @property
    def jobs(self) -> list[Job]:
        return [job for stage in self.stages for job in stage]
