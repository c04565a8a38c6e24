"""A CMX 3600 EDL: one video track, an event per part, cuts only, non-drop frame timecode at
the cast's rate (30 fps counting for NTSC's 29.97). Source names go in ``* FROM CLIP NAME:``
and ``* SOURCE FILE:`` comments; speeds as M2 lines; what CMX cannot say is said in a note."""

from __future__ import annotations

from fractions import Fraction

from castkit.exports.timeline import Timeline, unsupported


def timecode(frame: int, fps: Fraction) -> str:
    base = round(fps)  # NDF: NTSC counts 30 frames a second
    f = frame % base
    s = frame // base
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def _reel(index: int) -> str:
    return f"AX{index:03d}"[:8]


def one_line(text: object) -> str:
    """A value for one EDL line: CMX 3600 is line based, so a title's line breaks (or any
    other whitespace run) become one space; a title can never start a line of its own (an
    event, a comment, an M2 speed) in the list."""
    return " ".join(str(text).split())


def notes(timeline: Timeline) -> list[str]:
    return unsupported(timeline, "an EDL has no",
                       {"crop": "crop", "fades": "fade to black", "voice-over": "voice-over track",
                        "camera": "camera moves"},
                       "is listed without it")


def render(timeline: Timeline) -> tuple[str, list[str]]:
    fps = timeline.fps
    lines = [f"TITLE: {one_line(timeline.name)[:70]}", "FCM: NON-DROP FRAME", ""]
    for n, part in enumerate(timeline.parts, 1):
        if part.is_title:
            first, end = 0, part.frames
        else:
            first, end = part.source_frames(fps)
        rec_in, rec_out = part.record, part.record + part.frames
        lines.append(f"{n:03d}  {_reel(n):<8} V     C        {timecode(first, fps)} {timecode(end, fps)} "
                     f"{timecode(rec_in, fps)} {timecode(rec_out, fps)}")
        if part.speed != 1:
            lines.append(f"M2   {_reel(n):<8}       {float(part.speed * round(fps)):05.1f}                "
                         f"{timecode(first, fps)}")
        lines.append(f"* FROM CLIP NAME: {one_line(part.name)}")
        lines.append(f"* SOURCE FILE: {part.source}")  # a path: one line already (the reader)
        lines.append("")
    return "\n".join(lines), notes(timeline)
