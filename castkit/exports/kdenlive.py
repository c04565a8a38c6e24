"""A Kdenlive project (document version 1.1, Kdenlive 23.04 and later; melt renders it): the
main_bin first (Kdenlive reads the version from the first playlist), each track a tractor of
two playlists, a sequence tractor, and the project tractor last (melt plays the last one).

A transition is Kdenlive's same-track mix: the incoming part on the track's other playlist,
overlapping the outgoing one, and in the track's tractor a ``luma`` (or ``affine``)
transition with ``kdenlive:mixcut`` and a ``mix`` of the sound over the overlap (reversed
where the incoming part is on the lower playlist). The music bed is an audio track of its own
with a keyframed ``volume`` effect on the track; overlays are the parts' watermark filters
(``mlt.overlay_filters``)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from castkit.exports import mlt
from castkit.exports.mlt import (
    black, dip_filter, entry_points, fill, mix_transitions, music_level, music_producers, part_producer, prop,
    voice_entries, voice_producer,
)
from castkit.exports.timeline import Timeline

# What of transitions, music and overlays the format holds (exports.export).
CARRIES = frozenset({"transitions", "music", "overlays"})
SHOWS_HOLDS = False  # read by MLT, as exports.mlt says
# Kdenlive's names for the mixes (data/transitions: dissolve and luma are MLT's luma).
_KDENLIVE_IDS = {"crossfade": "dissolve", "dip": "dissolve", "wipe": "luma", "slide": "affine"}


def render(timeline: Timeline) -> tuple[str, list[str]]:
    doc_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"castkit:{timeline.name}:{timeline.frames}")) + "}"
    last = str(timeline.frames - 1)
    root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "producer": "main_bin",
                              "root": str(timeline.cards.parent)})
    root.append(mlt.profile(timeline))
    producers = []
    video: tuple[list, list] = ([], [])  # the V1 track's two playlists
    mixes = []  # (incoming part, its playlist) of each transition
    clip_ids: dict[str, int] = {}
    playlist = 0
    for part in timeline.parts:
        ident = f"part{part.index}"
        clip_ids[ident] = len(clip_ids) + 2
        producers.append(part_producer(timeline, part, ident, {"kdenlive:id": clip_ids[ident],
                                                               "kdenlive:clipname": part.name}))
        if part.overlap:  # overlapping the one before: on the other playlist
            playlist = 1 - playlist
            mixes.append((part, playlist))
        video[playlist].append((part.record, part.frames, ident, *entry_points(part, timeline.fps)))
        if part.voice is not None:
            vid = f"{ident}-voice"
            clip_ids[vid] = len(clip_ids) + 2
            producers.append(voice_producer(timeline, part, vid, {"kdenlive:id": clip_ids[vid]}))
    voices = voice_entries(timeline)
    music = []
    if timeline.music is not None:
        music_ids = lambda n: {"kdenlive:id": len(clip_ids) + 2 + n}  # noqa: E731
        found, music = music_producers(timeline, music_ids)
        producers.extend(found)
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

    def track(name: str, entries: tuple[list, list], audio: bool, title: str) -> ET.Element:
        pair = []
        for n in range(2):
            playlist = ET.SubElement(root, "playlist", {"id": f"{name}_{n}"})
            if audio:
                prop(playlist, "kdenlive:audio_track", 1)
            fill(playlist, entries[n])
            pair.append(playlist.get("id"))
        tractor = ET.SubElement(root, "tractor", {"id": name, "in": "0", "out": last})
        if audio:
            prop(tractor, "kdenlive:audio_track", 1)
        prop(tractor, "kdenlive:track_name", title)
        for ident in pair:
            attrs = {"producer": ident}
            if audio:
                attrs["hide"] = "video"
            ET.SubElement(tractor, "track", attrs)
        return tractor

    audio_tracks = [track("tractor_a1", (voices, []), audio=True, title="A1")]
    if timeline.music is not None:
        bed = track("tractor_a2", (music, []), audio=True, title="Music")
        bed.append(music_level(timeline, "music-level", {"kdenlive_id": "volume"}))
        audio_tracks.append(bed)
    v1 = track("tractor_v1", video, audio=False, title="V1")
    for part, playlist in mixes:
        where = {"in": str(part.record), "out": str(part.record + part.overlap - 1)}
        picture, sound = mix_transitions(part.transition or "crossfade", part.overlap, 0, 1,
                                         reverse=playlist == 0, **where)
        prop(picture, "kdenlive_id", _KDENLIVE_IDS[part.transition or "crossfade"])
        prop(picture, "kdenlive:mixcut", part.overlap // 2)
        prop(sound, "kdenlive_id", "mix")
        v1.extend((picture, sound))
        if part.transition == "dip":
            v1.append(dip_filter(part.overlap, f"mix{part.index}-dip", **where))
    sequence = ET.SubElement(root, "tractor", {"id": doc_id, "in": "0", "out": last})
    prop(sequence, "kdenlive:uuid", doc_id)
    prop(sequence, "kdenlive:clipname", timeline.name)
    prop(sequence, "kdenlive:producer_type", 17)
    prop(sequence, "kdenlive:duration", timeline.frames)
    ET.SubElement(sequence, "track", {"producer": "black_track"})
    for element in (*reversed(audio_tracks), v1):
        ET.SubElement(sequence, "track", {"producer": element.get("id")})
    video_track = len(audio_tracks) + 1
    for b_track, service in (*((n, "mix") for n in range(1, video_track + 1)), (video_track, "qtblend")):
        mlt.transition(sequence, b_track, service, internal_added=237)
    project = ET.SubElement(root, "tractor", {"id": "tractor_project", "in": "0", "out": last})
    prop(project, "kdenlive:projectTractor", 1)
    ET.SubElement(project, "track", {"producer": doc_id, "in": "0", "out": last})
    ET.indent(root)
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return text, mlt.notes(timeline)
