"""MLT XML that Shotcut opens as a project (and melt renders): one producer per part, a
video track with every part, an audio track with the voice-overs, fades as Shotcut's own
fade filters, crops as MLT's crop filter, speeds as timewarp producers, camera moves as a
keyframed affine filter."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from fractions import Fraction

from castkit.exports.timeline import Part, Timeline


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


def render(timeline: Timeline) -> tuple[str, list[str]]:
    root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "title": timeline.name,
                              "producer": "main_bin", "root": str(timeline.cards.parent)})
    root.append(profile(timeline))
    main_bin = ET.SubElement(root, "playlist", {"id": "main_bin"})
    prop(main_bin, "xml_retain", 1)
    root.append(black(timeline, "black"))
    background = ET.SubElement(root, "playlist", {"id": "background"})
    ET.SubElement(background, "entry", {"producer": "black", "in": "0", "out": str(timeline.frames - 1)})
    video, voices = [], []
    for part in timeline.parts:
        ident = f"part{part.index}"
        root.append(part_producer(timeline, part, ident))
        video.append((part.record, part.frames, ident, *entry_points(part, timeline.fps)))
        if part.voice is not None:
            root.append(voice_producer(timeline, part, f"{ident}-voice"))
            first, heard = part.voice_entry(timeline.fps)
            if heard > 0:  # as long as its sound: a blank follows where the voice has ended
                voices.append((part.record, heard, f"{ident}-voice", first, first + heard - 1))
    v1 = ET.SubElement(root, "playlist", {"id": "playlist0"})
    prop(v1, "shotcut:video", 1)
    prop(v1, "shotcut:name", "V1")
    fill(v1, video)
    a1 = ET.SubElement(root, "playlist", {"id": "playlist1"})
    prop(a1, "shotcut:audio", 1)
    prop(a1, "shotcut:name", "A1")
    fill(a1, voices)
    tractor = ET.SubElement(root, "tractor", {"id": "tractor0", "title": timeline.name,
                                              "in": "0", "out": str(timeline.frames - 1)})
    prop(tractor, "shotcut", 1)
    ET.SubElement(tractor, "track", {"producer": "background"})
    ET.SubElement(tractor, "track", {"producer": "playlist0"})
    ET.SubElement(tractor, "track", {"producer": "playlist1", "hide": "video"})
    for b_track, service in ((1, "mix"), (1, "qtblend"), (2, "mix")):
        transition(tractor, b_track, service,
                   **({} if service == "mix" else {"compositing": 0, "distort": 0}))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n", notes(timeline)
