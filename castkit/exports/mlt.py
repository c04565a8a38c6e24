"""MLT XML that Shotcut opens as a project (and melt renders): one producer per part, a
video track with every part, an audio track with the voice-overs, fades as Shotcut's own
fade filters, crops as MLT's crop filter, speeds as timewarp producers, camera moves as a
keyframed affine filter, transitions as Shotcut's own same-track mixes, the music bed on an
audio track of its own with a keyframed gain, overlays as castkit's drawn pictures laid on
the clip by MLT's watermark filter."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from castkit.exports.timeline import Part, Timeline


# What of transitions, music and overlays the format holds (exports.export).
CARRIES = frozenset({"transitions", "music", "overlays"})
# MLT's reader shows, for each frame of the project, the first picture stored at or after its
# time; castkit (and a player) the last one at or before it. The same for a capture of constant
# rate; through a variable-rate capture's hold, MLT shows the next picture early.
SHOWS_HOLDS = False

# The shotcut:filter names Shotcut gives its fade filters, so that it shows them as fades.
_FADES = {
    ("in", "video"): "fadeInBrightness", ("out", "video"): "fadeOutBrightness",
    ("in", "audio"): "fadeInVolume", ("out", "audio"): "fadeOutVolume",
}


def profile(timeline: Timeline) -> ET.Element:
    t = timeline.target
    fps, sar, dar = t.fps, t.sar, t.display_aspect
    return ET.Element("profile", {
        "description": t.name, "width": str(t.width), "height": str(t.height),
        "progressive": "0",
        "sample_aspect_num": str(sar.numerator), "sample_aspect_den": str(sar.denominator),
        "display_aspect_num": str(dar.numerator), "display_aspect_den": str(dar.denominator),
        "frame_rate_num": str(fps.numerator), "frame_rate_den": str(fps.denominator),
        "colorspace": "601",
    })


def prop(parent: ET.Element, name: str, value: object) -> ET.Element:
    element = ET.SubElement(parent, "property", {"name": name})
    element.text = str(value)
    return element


def clock(frames: int, fps: Fraction) -> str:
    """MLT's clock form, ``HH:MM:SS.mmm``, of a number of frames."""
    ms = round(Fraction(frames) / fps * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def entry_points(part: Part, fps: Fraction) -> tuple[int, int]:
    """The in and out (inclusive) frames of the part's producer: a timewarp producer counts
    frames of the sped-up source."""
    first = round(part.start * fps / part.speed)
    return first, first + part.frames - 1


def part_producer(timeline: Timeline, part: Part, ident: str, extra: dict | None = None) -> ET.Element:
    """A producer of the part's picture (and own sound), with its crop and fades."""
    fps = timeline.fps
    first, last = entry_points(part, fps)
    # No in/out on the producer itself: melt then cuts the producer there and counts the
    # entry's in/out from that cut, twice the trim (tested with melt 7.12).
    producer = ET.Element("producer", {"id": ident})
    if part.is_title:
        prop(producer, "length", part.frames)
        prop(producer, "resource", part.source)
        prop(producer, "mlt_service", "qimage")
        prop(producer, "ttl", 1)
        prop(producer, "shotcut:caption", part.name)
    else:
        length = round((part.source_duration or part.end) * fps / part.speed) + 1
        prop(producer, "length", max(length, last + 1))
        if part.speed != 1:
            speed = f"{float(part.speed):g}"
            prop(producer, "resource", f"{speed}:{part.source}")
            # Only the resource: with warp_speed and warp_resource set too, melt 7.12 shows
            # one held frame of a part that starts past the source's first seconds (tested).
            prop(producer, "mlt_service", "timewarp")
        else:
            prop(producer, "resource", part.source)
            prop(producer, "mlt_service", "avformat")
        prop(producer, "seekable", 1)
        if not part.has_audio:
            prop(producer, "audio_index", -1)
        prop(producer, "shotcut:caption", part.name)
    for key, value in (extra or {}).items():
        prop(producer, key, value)
    if part.crop is not None and part.source_size is not None:
        c, (width, height) = part.crop, part.source_size
        crop = ET.SubElement(producer, "filter", {"id": f"{ident}-crop"})
        prop(crop, "mlt_service", "crop")
        prop(crop, "left", c.x)
        prop(crop, "top", c.y)
        prop(crop, "right", width - c.x - c.width)
        prop(crop, "bottom", height - c.y - c.height)
        prop(crop, "use_profile", 0)
        prop(crop, "shotcut:filter", "crop")
    producer.extend(overlay_filters(timeline, part, ident))
    if part.camera is not None:
        producer.append(camera_filter(timeline, part, ident))
    kinds = ("video", "audio") if part.has_audio else ("video",)
    for edge, seconds in (("in", part.fade_in), ("out", part.fade_out)):
        n = min(part.frames, timeline.frames_of(seconds))
        if n < 1:
            continue
        start = first if edge == "in" else last - n + 1
        for kind in kinds:
            fade = ET.SubElement(producer, "filter", {
                "id": f"{ident}-fade-{edge}-{kind}", "in": str(start), "out": str(start + n - 1)})
            low, high = ("0", "1") if kind == "video" else ("-60", "0")
            a, b = (low, high) if edge == "in" else (high, low)
            prop(fade, "mlt_service", "brightness" if kind == "video" else "volume")
            prop(fade, "level", f"{clock(0, fps)}={a};{clock(n - 1, fps)}={b}")
            if kind == "video":
                prop(fade, "alpha", 1)
            prop(fade, "shotcut:filter", _FADES[edge, kind])
            prop(fade, f"shotcut:anim{edge.capitalize()}", clock(n, fps))
    return producer


def camera_filter(timeline: Timeline, part: Part, ident: str) -> ET.Element:
    """The clip's camera as an ``affine`` filter (Shotcut's "Size, Position & Rotate"): the
    picture placed, frame by frame, so that the camera's view fills the frame.

    A view (x, y, w, h) of the picture (W x H, after the crop) fills the frame when the whole
    picture is stretched over the rect (-x * F/w, -y * G/h, W * F/w, H * G/h) of the F x G
    profile. Keyframes on every frame of a move (its eased, sub-pixel path sampled where the
    cast is), one at each end of it, linear between: the view holds still between moves.
    The filter spans the part's entry (in to out, as the fades do: without them melt 7.12
    does not hold the last keyframe) and counts positions from its in; frame n of the
    producer is the capture at n x speed / fps."""
    camera, fps = part.camera, timeline.fps
    assert camera is not None
    width, height = timeline.target.width, timeline.target.height
    picture = camera.frame

    def rect(t: float) -> str:
        view = camera.view_at(t)
        sx, sy = width / view.width, height / view.height
        return " ".join(_number(v) for v in (
            -view.x * sx, -view.y * sy, picture.width * sx, picture.height * sy)) + " 1"

    def position(t: float) -> Fraction:
        return Fraction(t).limit_denominator(10**6) * fps / part.speed

    first, last = entry_points(part, fps)
    frames = {first, last}
    for step in camera.steps:
        a, b = math.floor(position(step.start)), math.ceil(position(step.end))
        frames.update(range(max(a, first), min(b, last) + 1))
    keys = ";".join(f"{n - first}={rect(float(n * part.speed / fps))}" for n in sorted(frames))
    element = ET.Element("filter", {"id": f"{ident}-camera", "in": str(first), "out": str(last)})
    for name, value in (("mlt_service", "affine"), ("transition.rect", keys),
                        ("transition.fill", 1), ("transition.distort", 1),
                        ("transition.halign", "left"), ("transition.valign", "top"),
                        ("background", "color:#00000000"), ("shotcut:filter", "affineSizePosition")):
        prop(element, name, value)
    return element


# --- overlays (issue 30) -----------------------------------------------------------------------
def overlay_filters(timeline: Timeline, part: Part, ident: str) -> list[ET.Element]:
    """Each overlay as MLT's ``watermark`` filter: castkit's own drawn picture (the PNG the
    build composites, ``titles.overlays``) laid over the clip from ``at`` to ``until`` with its
    fades as opacity keyframes.

    Why pictures and not MLT's text and rectangle filters: a callout's rounded box, the keycap
    chips, the spotlight's dimmed surround and an image are one thing each as a picture, drawn
    by the very code that draws them into castkit's casts, where ``dynamictext``/``qtext`` and
    a rectangle would each look a little different. melt, the engine both editors play a project
    through, renders it (the tests do; the editors' windows were not run); neither editor has a
    panel for it (Shotcut lists no watermark filter, Kdenlive no watermark effect), so it is
    changed by editing its properties or the PNG. Placed on the producer after its crop (melt
    7.12 crops in the producer, before any filter: measured) and before the camera, so that it
    follows both as in the cast: its rect is in per cent of the cropped picture."""
    if not part.overlays or part.source_size is None:
        return []
    fps = timeline.fps
    crop = part.crop
    cx, cy, cw, ch = ((crop.x, crop.y, crop.width, crop.height) if crop is not None
                      else (0, 0, *part.source_size))
    found = []
    for n, drawn in enumerate(part.overlays, 1):
        if drawn.picture is None:  # a redaction: refused before any export is written
            continue
        place = drawn.place
        rect = " ".join(f"{_number(100 * v / whole)}%" for v, whole in (
            (place.x - cx, cw), (place.y - cy, ch), (place.width, cw), (place.height, ch)))
        # Producer frame k shows the capture at k x speed / fps: the overlay is on the frames
        # whose time is in [at, until), as the build's ``enable`` has it.
        first = math.ceil(drawn.start * fps / part.speed)
        last = math.ceil(drawn.end * fps / part.speed) - 1
        if last < first:
            continue
        length = last - first + 1
        fade = min(round(min(drawn.overlay.fade, (drawn.end - drawn.start) / 2) * fps / part.speed), length // 2)
        keys = [(0, 1)] if not fade else [(0, 0), (fade, 1), (length - 1 - fade, 1), (length - 1, 0)]
        element = ET.Element("filter", {"id": f"{ident}-overlay{n}", "in": str(first), "out": str(last)})
        for name, value in (("mlt_service", "watermark"), ("resource", drawn.picture),
                            ("transition", "composite"),
                            ("composite.geometry", ";".join(f"{k}={rect} {o}" for k, o in keys)),
                            ("composite.distort", 1), ("composite.fill", 1),
                            ("castkit:overlay", drawn.overlay.kind)):
            prop(element, name, value)
        found.append(element)
    return found
# --- end of overlays ----------------------------------------------------------------------------


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def voice_producer(timeline: Timeline, part: Part, ident: str, extra: dict | None = None) -> ET.Element:
    producer = ET.Element("producer", {"id": ident})
    prop(producer, "resource", part.voice)
    prop(producer, "mlt_service", "avformat")
    prop(producer, "video_index", -1)
    prop(producer, "shotcut:caption", part.voice.name if part.voice else "voice")
    for key, value in (extra or {}).items():
        prop(producer, key, value)
    return producer


def fill(playlist: ET.Element, entries: list[tuple[int, int, str, int, int]]) -> None:
    """Entries (record, frames, producer, in, out) into a playlist, blanks between them."""
    at = 0
    for record, frames, producer, first, last in entries:
        if record > at:
            ET.SubElement(playlist, "blank", {"length": str(record - at)})
        ET.SubElement(playlist, "entry", {"producer": producer, "in": str(first), "out": str(last)})
        at = record + frames


def black(timeline: Timeline, ident: str) -> ET.Element:
    producer = ET.Element("producer", {"id": ident, "in": "0", "out": str(timeline.frames - 1)})
    prop(producer, "length", timeline.frames)
    prop(producer, "eof", "pause")
    prop(producer, "resource", "0")
    prop(producer, "aspect_ratio", 1)
    prop(producer, "mlt_service", "color")
    prop(producer, "mlt_image_format", "rgba")
    prop(producer, "set.test_audio", 0)
    return producer


def transition(parent: ET.Element, b_track: int, service: str, **extra: object) -> ET.Element:
    """A transition always active between the background track 0 and track ``b_track``: a
    ``mix`` sums the sound (never a crossfade), a ``qtblend`` lays the picture on top."""
    element = ET.SubElement(parent, "transition")
    for name, value in {"a_track": 0, "b_track": b_track, "mlt_service": service,
                        "always_active": 1, **extra}.items():
        prop(element, name, value)
    if service == "mix":
        prop(element, "sum", 1)
    return element


def notes(timeline: Timeline) -> list[str]:
    found = []
    for part in timeline.parts:
        if part.speed != 1:
            found.append(f"segment {part.index} is sped up with MLT's timewarp, which shows one held "
                         "frame of a variable-frame-rate capture (melt 7.12); if it does, convert "
                         f"{part.name} to a constant rate (castkit convert) and point the project at that")
    return found


# --- transitions (issue 25) --------------------------------------------------------------------
# A wipe as ffmpeg's ``wipeleft`` draws it: the incoming picture from the right edge (MLT's
# built-in bar luma, inverted).
WIPE_LUMA = "%luma01.pgm"


def mix_transitions(kind: str, frames: int, a_track: int, b_track: int, reverse: bool = False,
                    **where: str) -> list[ET.Element]:
    """The picture's and the sound's transitions of a mix of ``frames`` frames from the track
    ``a_track`` into ``b_track`` (``reverse``: from ``b_track`` into ``a_track``), as Shotcut
    and Kdenlive write theirs: ``luma`` (a dissolve; a wipe with a luma map) and a linear
    ``mix`` of the sound, as castkit's overlap mixes it. A dip is the dissolve through black (a
    brightness filter on the mix, ``dip_filter``); a slide the incoming picture moved in by an
    ``affine`` transition over the outgoing one (the outgoing one stays where it is, where
    ffmpeg's ``slideleft`` pushes it out)."""
    picture = ET.Element("transition", where)
    prop(picture, "a_track", a_track)
    prop(picture, "b_track", b_track)
    if kind == "slide":
        # b_track's picture moves: in from the right, or (reversed: the outgoing one on top) out
        # to the left.
        frm, to = ("0%", "-100%") if reverse else ("100%", "0%")
        prop(picture, "mlt_service", "affine")
        prop(picture, "rect", f"0={frm} 0% 100% 100% 1;{frames - 1}={to} 0% 100% 100% 1")
        prop(picture, "fill", 1)
        prop(picture, "distort", 1)
    else:
        prop(picture, "factory", "loader")
        prop(picture, "mlt_service", "luma")
        if kind == "wipe":
            prop(picture, "resource", WIPE_LUMA)
            prop(picture, "softness", 0)
            prop(picture, "invert", 0 if reverse else 1)
        prop(picture, "reverse", int(reverse))
        prop(picture, "alpha_over", 1)
        prop(picture, "fix_background_alpha", 1)
    sound = ET.Element("transition", where)
    for name, value in (("a_track", a_track), ("b_track", b_track), ("start", -1),
                        ("accepts_blanks", 1), ("mlt_service", "mix"), ("reverse", int(reverse))):
        prop(sound, name, value)
    return [picture, sound]


def dip_filter(frames: int, ident: str, **where: str) -> ET.Element:
    """A dip's way through black: the mix's picture darkened to black at its middle and back."""
    element = ET.Element("filter", {"id": ident, **where})
    prop(element, "mlt_service", "brightness")
    prop(element, "level", f"0=1;{(frames - 1) // 2}=0;{frames - 1}=1")
    return element


def mix_tractor(before: Part, after: Part, fps: Fraction, ident: str) -> ET.Element:
    """Shotcut's same-track mix (``mlt_playlist_mix``, what Shotcut's "add transition" makes):
    a tractor of the outgoing part's last and the incoming part's first ``after.overlap``
    frames, the transitions between them, an entry of the playlist between the two parts."""
    n = after.overlap
    last = entry_points(before, fps)[1]
    first = entry_points(after, fps)[0]
    tractor = ET.Element("tractor", {"id": ident, "in": "0", "out": str(n - 1)})
    prop(tractor, "shotcut:transition", "lumaMix")
    prop(tractor, "castkit:transition", after.transition)
    ET.SubElement(tractor, "track", {"producer": f"part{before.index}", "in": str(last - n + 1), "out": str(last)})
    ET.SubElement(tractor, "track", {"producer": f"part{after.index}", "in": str(first), "out": str(first + n - 1)})
    tractor.extend(mix_transitions(after.transition or "crossfade", n, 0, 1, out=str(n - 1)))
    if after.transition == "dip":
        tractor.append(dip_filter(n, f"{ident}-dip"))
    return tractor


def voice_entries(timeline: Timeline, ident=lambda part: f"part{part.index}-voice") -> list[tuple]:
    """The voice-overs' entries (record, frames, producer, in, out): each as long as its sound,
    and cut where the next part starts (a transition's overlap: one track holds one voice)."""
    found = []
    for part, after in zip(timeline.parts, [*timeline.parts[1:], None]):
        if part.voice is None:
            continue
        first, heard = part.voice_entry(timeline.fps)
        if after is not None:
            heard = min(heard, after.record - part.record)
        if heard > 0:  # as long as its sound: a blank follows where the voice has ended
            found.append((part.record, heard, ident(part), first, first + heard - 1))
    return found


# --- the music bed (issue 25) ------------------------------------------------------------------
def music_producers(timeline: Timeline, extra=lambda n: {}) -> tuple[list[ET.Element], list[tuple]]:
    """A producer per music file and the track's entries (record, frames, producer, in, out)."""
    bed = timeline.music
    assert bed is not None
    producers: dict[Path, ET.Element] = {}
    entries, record = [], 0
    for path, first, frames in bed.entries:
        if path not in producers:
            element = ET.Element("producer", {"id": f"music{len(producers) + 1}"})
            prop(element, "resource", path)
            prop(element, "mlt_service", "avformat")
            prop(element, "video_index", -1)
            prop(element, "shotcut:caption", path.name)
            for key, value in extra(len(producers)).items():
                prop(element, key, value)
            producers[path] = element
        entries.append((record, frames, producers[path].get("id"), first, first + frames - 1))
        record += frames
    return list(producers.values()), entries


def music_level(timeline: Timeline, ident: str, extra: dict | None = None) -> ET.Element:
    """The bed's gain as a ``volume`` filter (Shotcut's "Gain / Volume", keyframed): castkit's
    envelope (ducking, ``under``, fades) by its break points, in dB from the track's start."""
    bed = timeline.music
    assert bed is not None
    element = ET.Element("filter", {"id": ident, "in": "0", "out": str(timeline.frames - 1)})
    prop(element, "mlt_service", "volume")
    prop(element, "level", bed.level())
    prop(element, "shotcut:filter", "audioGain")
    for key, value in (extra or {}).items():
        prop(element, key, value)
    return element


def render(timeline: Timeline) -> tuple[str, list[str]]:
    fps = timeline.fps
    root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "title": timeline.name,
                              "producer": "main_bin", "root": str(timeline.cards.parent)})
    root.append(profile(timeline))
    main_bin = ET.SubElement(root, "playlist", {"id": "main_bin"})
    prop(main_bin, "xml_retain", 1)
    root.append(black(timeline, "black"))
    background = ET.SubElement(root, "playlist", {"id": "background"})
    ET.SubElement(background, "entry", {"producer": "black", "in": "0", "out": str(timeline.frames - 1)})
    video = []  # the track's entries in order: (producer, in, out)
    parts = timeline.parts
    for part in parts:
        ident = f"part{part.index}"
        root.append(part_producer(timeline, part, ident))
        if part.voice is not None:
            root.append(voice_producer(timeline, part, f"{ident}-voice"))
    for part, after in zip(parts, [*parts[1:], None]):
        first, last = entry_points(part, fps)
        first += part.overlap
        last -= after.overlap if after is not None else 0
        if last >= first:
            video.append((f"part{part.index}", first, last))
        if after is not None and after.overlap:
            mix = mix_tractor(part, after, fps, f"mix{after.index}")
            root.append(mix)
            video.append((mix.get("id"), 0, after.overlap - 1))
    v1 = ET.SubElement(root, "playlist", {"id": "playlist0"})
    prop(v1, "shotcut:video", 1)
    prop(v1, "shotcut:name", "V1")
    for producer, first, last in video:
        ET.SubElement(v1, "entry", {"producer": producer, "in": str(first), "out": str(last)})
    a1 = ET.SubElement(root, "playlist", {"id": "playlist1"})
    prop(a1, "shotcut:audio", 1)
    prop(a1, "shotcut:name", "A1")
    fill(a1, voice_entries(timeline))
    tracks = ["playlist0", "playlist1"]
    if timeline.music is not None:
        producers, entries = music_producers(timeline)
        for element in producers:
            root.insert(list(root).index(v1), element)
        a2 = ET.SubElement(root, "playlist", {"id": "playlist2"})
        prop(a2, "shotcut:audio", 1)
        prop(a2, "shotcut:name", "Music")
        fill(a2, entries)
        a2.append(music_level(timeline, "music-level"))
        tracks.append("playlist2")
    tractor = ET.SubElement(root, "tractor", {"id": "tractor0", "title": timeline.name,
                                              "in": "0", "out": str(timeline.frames - 1)})
    prop(tractor, "shotcut", 1)
    ET.SubElement(tractor, "track", {"producer": "background"})
    ET.SubElement(tractor, "track", {"producer": "playlist0"})
    for ident in tracks[1:]:
        ET.SubElement(tractor, "track", {"producer": ident, "hide": "video"})
    for b_track, service in ((1, "mix"), (1, "qtblend"), *((n, "mix") for n in range(2, len(tracks) + 1))):
        transition(tractor, b_track, service,
                   **({} if service == "mix" else {"compositing": 0, "distort": 0}))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n", notes(timeline)
