"""OpenTimelineIO (.otio, for DaVinci Resolve, Kdenlive 25.04+, Premiere through plugins): a
video and an audio track, a clip per part with its source range in frames of the cast's rate,
speeds as LinearTimeWarp, a marker on each title. Crops, fades and camera moves have no OTIO
schema: they are kept in each clip's ``castkit`` metadata, and said so in a note."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio

from castkit.exports.timeline import Part, Timeline, unsupported


def _range(first: int, frames: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(first, rate),
                                   otio.opentime.RationalTime(frames, rate))


def _reference(path, seconds: Fraction | None, rate: float) -> otio.schema.ExternalReference:
    available = None
    if seconds is not None:
        available = _range(0, round(seconds * Fraction(rate).limit_denominator(1001)), rate)
    return otio.schema.ExternalReference(target_url=path.absolute().as_uri(), available_range=available)


def _meta(part: Part) -> dict:
    meta = {"segment": part.index, "speed": str(part.speed),
            "source_in": str(part.start), "source_out": str(part.end)}
    if part.crop is not None:
        c = part.crop
        meta["crop"] = {"x": c.x, "y": c.y, "width": c.width, "height": c.height}
    if part.fade_in:
        meta["fade_in"] = str(part.fade_in)
    if part.fade_out:
        meta["fade_out"] = str(part.fade_out)
    if part.camera is not None:
        # Each move's times (seconds of the capture) and the view it arrives at, in the
        # capture's pixels, as a recipe's ``zoom:`` gives them.
        frame = part.camera.frame
        meta["camera"] = [{"start": step.start, "end": step.end,
                           **{k: round(v, 2) for k, v in vars(frame.outward(step.to)).items()}}
                          for step in part.camera.steps]
    if part.title is not None:
        meta["title"] = part.title
        if part.subtitle:
            meta["subtitle"] = part.subtitle
    return meta


def build(timeline: Timeline) -> otio.schema.Timeline:
    fps = timeline.fps
    rate = float(fps)
    tl = otio.schema.Timeline(name=timeline.name,
                              global_start_time=otio.opentime.RationalTime(0, rate))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for part in timeline.parts:
        first = round(part.start * fps)
        if part.is_title:
            clip = otio.schema.Clip(
                name=part.name, media_reference=_reference(part.source, part.length, rate),
                source_range=_range(0, part.frames, rate))
            clip.markers.append(otio.schema.Marker(
                name=part.title, marked_range=_range(0, part.frames, rate),
                color=otio.schema.MarkerColor.RED))
        else:
            clip = otio.schema.Clip(
                name=part.name, media_reference=_reference(part.source, part.source_duration, rate),
                source_range=_range(first, part.frames, rate))
            if part.speed != 1:
                clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=float(part.speed)))
        clip.metadata["castkit"] = _meta(part)
        video.append(clip)
        if part.voice is not None:
            # As long as its sound, then a gap: the voice at the cast's time in every editor.
            first, heard = part.voice_entry(fps)
            if heard:
                audio.append(otio.schema.Clip(
                    name=part.voice.name, media_reference=_reference(part.voice, None, rate),
                    source_range=_range(first, heard, rate)))
            sound = otio.schema.Gap(source_range=_range(0, part.frames - heard, rate))
            if heard == part.frames:
                sound = None
        elif part.has_audio:
            sound = otio.schema.Clip(name=part.name,
                                     media_reference=_reference(part.source, part.source_duration, rate),
                                     source_range=_range(first, part.frames, rate))
            if part.speed != 1:
                sound.effects.append(otio.schema.LinearTimeWarp(time_scalar=float(part.speed)))
        else:
            sound = otio.schema.Gap(source_range=_range(0, part.frames, rate))
        if sound is not None:
            audio.append(sound)
    tl.tracks.append(video)
    tl.tracks.append(audio)
    return tl


# Each title is a marker on its clip: the cast's chapters that titles start.
CARRIES = frozenset({"title markers"})


def notes(timeline: Timeline) -> list[str]:
    return unsupported(timeline, "OTIO has no", {"crop": "crop", "fades": "fade to black",
                                                 "camera": "camera moves"},
                       "keeps it only in its castkit metadata")


def render(timeline: Timeline) -> tuple[str, list[str]]:
    return otio.adapters.write_to_string(build(timeline), "otio_json") + "\n", notes(timeline)
