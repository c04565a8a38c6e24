"""A Kino project: SMIL 2.0, one ``<seq>`` per part holding one ``<video>`` with clipBegin and
clipEnd as frame numbers of the source at the cast's rate, end inclusive (as Kino writes them).
Kino reads DV: the captures are referenced as they are, so convert them for Kino."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from castkit.exports.timeline import Timeline, unsupported


SMIL_NS = "http://www.w3.org/2001/SMIL20/Language"


def notes(timeline: Timeline) -> list[str]:
    found = unsupported(timeline, "Kino's SMIL has no",
                        {"speed": "speed", "crop": "crop", "fades": "fades", "voice-over": "voice-over",
                         "camera": "camera moves"},
                        "is listed without it")
    silenced = [str(p.index) for p in timeline.parts if p.mute]
    if silenced:  # a <video> plays its file's sound: Kino has no way to leave it out
        found.append(f"Kino's SMIL cannot silence a clip (audio: none); segment {', '.join(silenced)} "
                     "plays its capture's own sound")
    if any(p.is_title for p in timeline.parts):
        found.append("Kino plays DV, not PNG: make the title cards DV with `castkit title` to use them there")
    return found


def render(timeline: Timeline) -> tuple[str, list[str]]:
    root = ET.Element("smil", {"xmlns": SMIL_NS})
    body = ET.SubElement(root, "body")
    for part in timeline.parts:
        seq = ET.SubElement(body, "seq")
        if part.is_title:
            first, last = 0, part.frames - 1
        else:
            first, end = part.source_frames(timeline.fps)
            last = end - 1
        ET.SubElement(seq, "video", {"src": str(part.source), "clipBegin": str(first), "clipEnd": str(last)})
    ET.indent(root)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n", notes(timeline)
