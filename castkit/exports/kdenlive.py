"""A Kdenlive project (document version 1.1, Kdenlive 23.04 and later; melt renders it): the
main_bin first (Kdenlive reads the version from the first playlist), each track a tractor of
two playlists, a sequence tractor, and the project tractor last (melt plays the last one)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from castkit.exports import mlt
from castkit.exports.mlt import black, entry_points, fill, part_producer, prop, voice_producer
from castkit.exports.timeline import Timeline


def render(timeline: Timeline) -> tuple[str, list[str]]:
    doc_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"castkit:{timeline.name}:{timeline.frames}")) + "}"
    last = str(timeline.frames - 1)
    root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "producer": "main_bin",
                              "root": str(timeline.cards.parent)})
    root.append(mlt.profile(timeline))
    producers, video, voices = [], [], []
    clip_ids: dict[str, int] = {}
    for part in timeline.parts:
        ident = f"part{part.index}"
        clip_ids[ident] = len(clip_ids) + 2
        producers.append(part_producer(timeline, part, ident, {"kdenlive:id": clip_ids[ident],
                                                               "kdenlive:clipname": part.name}))
        video.append((part.record, part.frames, ident, *entry_points(part, timeline.fps)))
        if part.voice is not None:
            vid = f"{ident}-voice"
            clip_ids[vid] = len(clip_ids) + 2
            producers.append(voice_producer(timeline, part, vid, {"kdenlive:id": clip_ids[vid]}))
            first, heard = part.voice_entry(timeline.fps)
            if heard > 0:  # as long as its sound: a blank follows where the voice has ended
                voices.append((part.record, heard, vid, first, first + heard - 1))
    root.extend(producers)
    main_bin = ET.SubElement(root, "playlist", {"id": "main_bin"})
    prop(main_bin, "kdenlive:docproperties.version", "1.1")
    prop(main_bin, "kdenlive:docproperties.uuid", doc_id)
    prop(main_bin, "kdenlive:docproperties.activetimeline", doc_id)
    prop(main_bin, "kdenlive:docproperties.profile", "dv_pal" if timeline.target.standard == "pal" else "dv_ntsc")
    prop(main_bin, "xml_retain", 1)
    for element in producers:
        ET.SubElement(main_bin, "entry", {"producer": element.get("id"), "in": "0", "out": last})
    root.append(black(timeline, "black_track"))

    def track(name: str, entries, audio: bool) -> str:
        pair = []
        for n in range(2):
            playlist = ET.SubElement(root, "playlist", {"id": f"{name}_{n}"})
            if audio:
                prop(playlist, "kdenlive:audio_track", 1)
            if n == 0:
                fill(playlist, entries)
            pair.append(playlist.get("id"))
        tractor = ET.SubElement(root, "tractor", {"id": name, "in": "0", "out": last})
        if audio:
            prop(tractor, "kdenlive:audio_track", 1)
        prop(tractor, "kdenlive:track_name", "A1" if audio else "V1")
        for ident in pair:
            attrs = {"producer": ident}
            if audio:
                attrs["hide"] = "video"
            ET.SubElement(tractor, "track", attrs)
        return name

    a1 = track("tractor_a1", voices, audio=True)
    v1 = track("tractor_v1", video, audio=False)
    sequence = ET.SubElement(root, "tractor", {"id": doc_id, "in": "0", "out": last})
    prop(sequence, "kdenlive:uuid", doc_id)
    prop(sequence, "kdenlive:clipname", timeline.name)
    prop(sequence, "kdenlive:producer_type", 17)
    prop(sequence, "kdenlive:duration", timeline.frames)
    ET.SubElement(sequence, "track", {"producer": "black_track"})
    ET.SubElement(sequence, "track", {"producer": a1})
    ET.SubElement(sequence, "track", {"producer": v1})
    for b_track, service in ((1, "mix"), (2, "mix"), (2, "qtblend")):
        mlt.transition(sequence, b_track, service, internal_added=237)
    project = ET.SubElement(root, "tractor", {"id": "tractor_project", "in": "0", "out": last})
    prop(project, "kdenlive:projectTractor", 1)
    ET.SubElement(project, "track", {"producer": doc_id, "in": "0", "out": last})
    ET.indent(root)
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return text, mlt.notes(timeline)
