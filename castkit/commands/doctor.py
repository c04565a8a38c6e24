"""``castkit doctor``: which ffmpeg castkit uses, and whether it has every part castkit needs."""

from __future__ import annotations

import re

import subprocess

from castkit.errors import WorkError
from castkit.media.ffmpeg import Ffmpeg, MIN_VERSION, run_query
from castkit.media.gifsicle import find_gifsicle, INSTALL_HINT as GIFSICLE_HINT


# What castkit's plans use, by the ffmpeg listing each is found in.
NEEDS: dict[str, tuple[str, ...]] = {
    "encoders": ("dvvideo", "pcm_s16le"),
    "decoders": ("theora", "vorbis", "png"),
    "muxers": ("dv", "avi"),
    "demuxers": ("concat", "dv", "ogg", "image2", "lavfi"),
    "filters": (
        "fps", "trim", "setpts", "settb", "tpad", "scale", "pad", "setsar", "format", "crop",
        "fade", "aresample", "aformat", "apad", "atrim", "asetpts", "atempo", "afade", "anullsrc",
        "colorspace",
    ),
}


# What the web masters (.mp4, .webm) need besides; without them DV still works.
WEB_NEEDS: dict[str, tuple[str, ...]] = {
    "encoders": ("libx264", "aac", "libsvtav1", "libopus", "alac"),
    "decoders": ("alac",),
    "muxers": ("mp4", "webm"),
    "demuxers": ("mov",),
}


# What the images for documentation (.gif, .webp, .apng, posters, sprite sheets) need besides
# (outputs.animated, outputs.stills); without them every other output works.
IMAGE_NEEDS: dict[str, tuple[str, ...]] = {
    "encoders": ("libx264rgb", "gif", "apng", "libwebp_anim", "libwebp", "mjpeg", "png"),
    "muxers": ("mp4", "gif", "apng", "webp", "image2"),
    "filters": ("mpdecimate", "fillborders", "palettegen", "paletteuse", "select", "tile",
                "subtitles"),
}


def available(ffmpeg: Ffmpeg, listing: str) -> set[str]:
    """Names in ``ffmpeg -encoders`` (or decoders, muxers, demuxers, filters); WorkError where
    ffmpeg does not answer or fails (a crash is not a list of missing parts)."""
    asked = f"{ffmpeg.path} -{listing}"
    try:
        done = run_query(ffmpeg, [f"-{listing}"])
    except subprocess.TimeoutExpired as exc:
        raise WorkError(f"{asked} did not answer in {exc.timeout:g} s") from None
    except OSError as exc:
        raise WorkError(f"{asked} could not run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        why = f"was killed by signal {-done.returncode}" if done.returncode < 0 else f"failed ({done.returncode})"
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise WorkError("\n".join([f"{asked} {why}", *tail]))
    out = done.stdout.decode("utf-8", "replace")
    names = set()
    for line in out.splitlines():
        if " = " in line or line.strip().startswith("--") or ":" in line[:12]:
            continue  # the legend above the entries
        for token in line.split():
            # Flag columns ("DE", "VFS..D", " d") differ between ffmpeg versions; the name is
            # the first token that is not made of flag letters.
            if not re.fullmatch(r"[A-Z.|]{1,6}|d", token):
                names.update(token.split(","))
                break
    return names


def check(ffmpeg: Ffmpeg) -> tuple[str, bool]:
    lines = [f"ffmpeg   {ffmpeg.path}", f"found by {ffmpeg.found_by}", f"version  {ffmpeg.version}"]
    ok = True
    vt = ffmpeg.version_tuple
    if vt is None:
        lines.append("         (a development snapshot: assumed newer than 5.1)")
    listings = {listing: available(ffmpeg, listing) for listing in NEEDS}
    for listing, needed in NEEDS.items():
        missing = [name for name in needed if name not in listings[listing]]
        ok = ok and not missing
        status = "ok" if not missing else "MISSING " + ", ".join(missing)
        lines.append(f"{listing:<9}{status}  ({', '.join(needed)})")
    web_missing = [name for listing, needed in WEB_NEEDS.items() for name in needed
                   if name not in listings[listing]]
    web = ", ".join(dict.fromkeys(name for needed in WEB_NEEDS.values() for name in needed))
    dv = " (DV works)" if ok else ""
    lines.append(f"{'web':<9}" + ("ok" if not web_missing else
                 "MISSING " + ", ".join(dict.fromkeys(web_missing)) + f": no .mp4/.webm outputs{dv}") + f"  ({web})")
    image_missing = [name for listing, needed in IMAGE_NEEDS.items() for name in needed
                     if name not in listings[listing]]
    images = ", ".join(dict.fromkeys(name for needed in IMAGE_NEEDS.values() for name in needed))
    lines.append(f"{'images':<9}" + ("ok" if not image_missing else
                 "MISSING " + ", ".join(image_missing) + ": no image outputs") + f"  ({images})")
    gifsicle = find_gifsicle()
    lines.append(f"{'gifsicle':<9}" + (f"ok  ({gifsicle.path}, {'.'.join(map(str, gifsicle.version))}, "
                                       f"found by {gifsicle.found_by})" if gifsicle else
                                       f"not found: GIFs stay ffmpeg's own, larger ({GIFSICLE_HINT})"))
    lines.append("all good" if ok else f"castkit needs an ffmpeg >= {MIN_VERSION[0]}.{MIN_VERSION[1]} with the parts above")
    return "\n".join(lines), ok
