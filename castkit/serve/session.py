"""What ``castkit serve`` knows and does for its page: the recipe's state as the page shows it,
edits written back into the recipe file (checked first, atomically, never over an edit made
elsewhere), frames and proxies of the captures, builds, and the events the page listens to.

The recipe file is the only truth: every answer is made from it as it is on disk now, and
every edit is a change of its text (``recipe.edit``) that castkit's own reader and checks
accept before it is written.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from castkit.base.files import write_atomically
from castkit.base.jobs import Job, Plan, file_url
from castkit.base.progress import Progress
from castkit.builder.build import build
from castkit.builder.plan import effects_of, followed, overlay_steps, profiles_for
from castkit.cache.keys import cache_dir, file_identity, key
from castkit.cache.names import proxy_name
from castkit.commands.preview import frame_job
from castkit.errors import CastkitError, RecipeError
from castkit.media.ffmpeg import Ffmpeg, compile_argv, ffmpeg_module
from castkit.media.origins import open_capture
from castkit.media.probe import MediaInfo
from castkit.media.raster import eight_bits
from castkit.media.seek import frame_times
from castkit.plan.check import Checked, check_recipe
from castkit.plan.encode import Trim, clip_frames, trimmed_length
from castkit.recipe.edit import EditError, move_segment, set_keys
from castkit.plan.overlays import Drawn, redact  # a redacted player's copy (issue 30)
from castkit.recipe.model import ClipSegment, Overlay, TitleSegment
from castkit.titles.overlays import Placement
from castkit.recipe.reader import read_recipe
from castkit.run.runner import FfmpegRunner
from castkit.titles.cards import render_card

PROXY_HEIGHT = 540  # what a laptop's player needs; text stays legible for finding a cut
# Keys the page edits; every other key of a segment is shown, read-only.
TITLE_EDITS = ("title", "subtitle", "duration")
CLIP_EDITS = ("start", "end")
MAX_EDIT_TEXT = 2000  # characters of a title or subtitle typed in the page


class Conflict(Exception):
    """The recipe changed on disk since the page read it."""


class Invalid(Exception):
    """An edit castkit's checks refuse: the problems, each with its LINE:COL."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _seconds(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _problems(error: CastkitError) -> list[str]:
    if isinstance(error, RecipeError):
        return [str(p) for p in error.problems]
    return [str(error)]


def _stats(paths: tuple[Path, ...]) -> tuple:
    """Each source's size and change time (None where it is missing): what a check saw."""
    found = []
    for path in paths:
        try:
            st = os.stat(path)
            found.append((st.st_size, st.st_mtime_ns))
        except OSError:
            found.append(None)
    return tuple(found)


class EventProgress(Progress):
    """A build's progress as events for the page (and nothing on the terminal)."""

    def __init__(self, send) -> None:
        super().__init__(mode="quiet")
        self.send = send

    def update(self, key: str, frames: int) -> None:
        super().update(key, frames)
        self.send("progress", self.counts())

    def finished(self, key: str, label: str, frames: int, note: str = "") -> None:
        super().finished(key, label, frames, note)
        self.send("progress", {"label": label, **self.counts()})


@dataclass
class ProxyState:
    path: Path
    status: str = "queued"  # queued | making | ready | failed
    done: float = 0.0  # fraction made
    error: str | None = None


class Session:
    def __init__(self, recipe: Path, ffmpeg: Ffmpeg) -> None:
        self.recipe = recipe
        self.ffmpeg = ffmpeg
        self.lock = threading.RLock()
        self.work = Path(tempfile.mkdtemp(prefix="castkit-serve-"))
        self._subscribers: list[queue.Queue] = []
        self._proxies: dict[Path, ProxyState] = {}
        self._proxy_queue: queue.Queue = queue.Queue()
        self._times: dict[tuple, tuple[Fraction, ...]] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._checked: tuple[str, Checked | None, list[str]] | None = None
        # The sources of the recipe last checked, and what they were then (plain stats).
        self._checked_sources: tuple[Path, ...] = ()
        self._checked_stats: tuple = ()
        self.build_thread: threading.Thread | None = None
        self.build_runner: FfmpegRunner | None = None
        self.stopping = threading.Event()
        threading.Thread(target=self._make_proxies, daemon=True, name="proxies").start()
        threading.Thread(target=self._watch, daemon=True, name="watch").start()

    # -- events ---------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=1000)
        with self.lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self.lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def send(self, kind: str, data: dict) -> None:
        with self.lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            try:
                q.put_nowait((kind, data))
            except queue.Full:  # a page that stopped reading: it reloads on reconnect
                pass

    # -- the recipe -----------------------------------------------------------------------
    def _read_bytes(self) -> bytes:
        try:
            return self.recipe.read_bytes()
        except OSError as exc:
            raise Invalid([f"{self.recipe}: cannot be read ({exc.strerror})"]) from None

    def checked(self) -> tuple[str, Checked | None, list[str]]:
        """The recipe as on disk: its version, checked (None if it has problems), problems."""
        data = self._read_bytes()
        version = version_of(data)
        with self.lock:
            if (self._checked is not None and self._checked[0] == version
                    and _stats(self._checked_sources) == self._checked_stats):
                return self._checked
        sources: tuple[Path, ...] = ()
        try:
            recipe, problems = read_recipe(self.recipe)
            # Checked again when a source changes too: a capture deleted, put back or replaced.
            sources = tuple(recipe.sources()[1:])
            stats = _stats(sources)
            checked = check_recipe(recipe, self.ffmpeg, problems)
            result = (version, checked, [])
        except CastkitError as error:
            result = (version, None, _problems(error))
            stats = _stats(sources)
        with self.lock:
            self._checked = result
            self._checked_sources, self._checked_stats = sources, stats
        if result[1] is not None:
            self._queue_proxies(result[1])
        return result

    def state(self) -> dict[str, Any]:
        version, checked, problems = self.checked()
        segments: list[dict] = []
        outputs: list[dict] = []
        if checked is not None:
            recipe = checked.recipe
            # Lengths as the first output counts them (its frame rate rounds them).
            target = profiles_for(checked)[0][1].raster
            position = Fraction(0)
            for index, seg in enumerate(recipe.segments, 1):
                item: dict[str, Any] = {"index": index}
                if isinstance(seg, TitleSegment):
                    frames = target.frames(seg.duration)
                    item.update(kind="title", title=seg.title, subtitle=seg.subtitle,
                                duration=_seconds(seg.duration), source=None)
                else:
                    info = checked.probes[seg.clip]
                    trim = Trim(seg.start, seg.length(info.duration))
                    frames = clip_frames(info, trim, target, seg.speed)
                    end = seg.start + trimmed_length(info, trim)
                    proxy = self._proxy_state(checked, seg)
                    item.update(kind="clip", source=seg.clip.name, start=_seconds(seg.start),
                                end=_seconds(end), capture_duration=_seconds(info.duration),
                                fps=_seconds(info.video.fps) if info.video and info.video.fps else None,
                                proxy=proxy.status if proxy else "queued",
                                other=_read_only(seg))
                seconds = target.seconds(frames)
                item.update(cast_start=_seconds(position), length=_seconds(seconds))
                position += seconds
                segments.append(item)
            outputs = [{"index": i, "name": spec.path.name, "exists": spec.path.is_file()}
                       for i, spec in enumerate(recipe.outputs)]
        return {"recipe": self.recipe.name, "version": version, "errors": problems,
                "segments": segments, "outputs": outputs,
                "building": self.build_thread is not None and self.build_thread.is_alive()}

    def segment(self, index: int) -> tuple[Checked, TitleSegment | ClipSegment]:
        _, checked, problems = self.checked()
        if checked is None:
            raise Invalid(problems)
        segments = checked.recipe.segments
        if not 1 <= index <= len(segments):
            raise LookupError(f"there is no segment {index}")
        return checked, segments[index - 1]

    def edit(self, index: int, changes: dict[str, Any], version: str) -> dict:
        """Apply the page's ``changes`` to segment ``index`` of the recipe file."""
        _, seg = self.segment(index)
        allowed = TITLE_EDITS if isinstance(seg, TitleSegment) else CLIP_EDITS
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise Invalid([f"segment {index}: the page edits only {', '.join(allowed)}, not "
                           f"{', '.join(unknown)}"])
        values = {k: _value(k, v) for k, v in changes.items()}
        if isinstance(seg, ClipSegment):
            values = self._trim_changes(seg, values)
        return self._write(lambda text: set_keys(text, index, values), version)

    def move(self, source: int, target: int, version: str) -> dict:
        return self._write(lambda text: move_segment(text, source, target), version)

    def _trim_changes(self, seg: ClipSegment, values: dict) -> dict:
        """start/end as the recipe writes them: an author who gave ``duration:`` keeps it."""
        if seg.duration is not None and ("end" in values or "start" in values):
            start = values.get("start", seg.start)
            end = values.get("end", seg.start + seg.duration)
            values = {k: v for k, v in values.items() if k != "end"}
            values["duration"] = max(Fraction(0), Fraction(end) - Fraction(start))
        return values

    def _write(self, change, version: str) -> dict:
        with self.lock:
            data = self._read_bytes()
            if version_of(data) != version:
                raise Conflict("the recipe changed on disk since the page read it; the page "
                               "has the new version now: make the change again")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise Invalid([f"{self.recipe}: not UTF-8 text"]) from None
            try:
                new = change(text)
            except EditError as exc:
                raise Invalid([f"{self.recipe}: {exc}"]) from None
            checked = self._check_text(new)
            # The file once more, right before it is replaced: an edit saved elsewhere
            # meanwhile wins, and this one is refused.
            if self.recipe.read_bytes() != data:
                raise Conflict("the recipe changed on disk while this change was checked; "
                               "make the change again")
            encoded = new.encode("utf-8")
            # The file itself, where a link leads (a recipe linked from elsewhere stays linked),
            # with its own permissions (a private recipe stays private).
            real = Path(os.path.realpath(self.recipe))
            mode = stat.S_IMODE(os.stat(real).st_mode)

            def write(temp: Path) -> None:
                temp.write_bytes(encoded)
                os.chmod(temp, mode)

            write_atomically(real, write)
            # What was just checked is the recipe now: no second probe of every source.
            self._checked = (version_of(encoded), replace(checked, recipe=replace(checked.recipe, path=self.recipe)), [])
            self._checked_sources = tuple(checked.recipe.sources()[1:])
            self._checked_stats = _stats(self._checked_sources)
        self._queue_proxies(self._checked[1])
        self.send("recipe", {"version": version_of(encoded)})
        return self.state()

    def _check_text(self, text: str) -> Checked:
        """castkit's own checks of the recipe as it would be, under a temporary name beside it
        (its paths are relative to its folder), reported under the recipe's own name."""
        fd, name = tempfile.mkstemp(prefix=f".{self.recipe.name}.", suffix=".check.yaml",
                                    dir=self.recipe.parent)
        temp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            try:
                recipe, problems = read_recipe(temp)
                return check_recipe(recipe, self.ffmpeg, problems)
            except CastkitError as error:
                raise Invalid([p.replace(str(temp), str(self.recipe)) for p in _problems(error)]) from None
        finally:
            temp.unlink(missing_ok=True)

    def _watch(self) -> None:
        """Tell the page when the recipe changes on disk (an edit in a text editor)."""
        last = None
        while not self.stopping.wait(0.3):
            try:
                st = self.recipe.stat()
                now = (st.st_size, st.st_mtime_ns, st.st_ino)
            except OSError:
                now = None
            if last is not None and now != last:
                try:
                    self.send("recipe", {"version": version_of(self.recipe.read_bytes())})
                except OSError:
                    self.send("recipe", {"version": None})
            last = now

    # -- pictures -------------------------------------------------------------------------
    def frame(self, index: int, at: Fraction | None) -> Path:
        """A JPEG of segment ``index``: a clip's capture at ``at`` seconds (default: the middle
        of its trim), framed as the cast frames it; a title's card."""
        checked, seg = self.segment(index)
        target = checked.recipe.target
        if isinstance(seg, TitleSegment):
            name = key("serve-card", seg.title, seg.subtitle, str(seg.style), target.display_size)
            out = self.work / f"card-{name}.jpg"
            with self._making(out):
                if not out.exists():
                    image = render_card(seg.title, seg.subtitle, seg.style, target.display_size,
                                        checked.recipe.folder)
                    write_atomically(out, lambda temp: image.convert("RGB").save(temp, format="JPEG", quality=88))
            return out
        info = checked.probes[seg.clip]
        if at is None:
            trim = Trim(seg.start, seg.length(info.duration))
            at = seg.start + trimmed_length(info, trim) / 2
        at = min(max(Fraction(0), at), info.duration)
        at = target.seconds(target.frames(at))  # the cast's frame there: one file per frame
        fx = effects_of(seg, checked)
        if seg.follow is not None:  # the camera the build plans: measured once, kept in the cache
            fx = replace(fx, zoom=followed(seg, index, checked, self.ffmpeg, cache_dir(checked.recipe), quiet=True))
        if not seg.start <= at < seg.start + seg.length(info.duration):
            # A moment no cast shows from this clip (another clip's may, redacted): every
            # redaction of the capture hides its region, as in the player's copy.
            fx = replace(fx, overlays=(*fx.overlays, *map(held_always, redactions_of(checked, seg.clip))))
        name = key("serve-frame", file_identity(info.path), str(at), str(fx), target.name)
        out = self.work / f"frame-{name}.jpg"
        with self._making(out):
            if not out.exists():
                job = frame_job(info, at, fx, target, out, self.ffmpeg, f"frame of segment {index}"
                                ).after(*overlay_steps(seg, fx, checked))
                FfmpegRunner(workers=1).run(Plan(((job,),)))
        return out

    def _making(self, path: Path) -> threading.Lock:
        """One lock per picture file: two requests for one frame make it once."""
        with self.lock:
            return self._locks.setdefault(path, threading.Lock())

    def frame_times(self, index: int) -> tuple[Fraction, ...]:
        """When each of the capture's pictures starts (its own timestamps), for frame-exact
        marks and stepping."""
        checked, seg = self.segment(index)
        if not isinstance(seg, ClipSegment):
            raise LookupError(f"segment {index} is a title")
        found = (seg.clip, _stats((seg.clip,)))  # a capture replaced on disk is read again
        with self.lock:
            if found in self._times:
                return self._times[found]
        times = frame_times(checked.probes[seg.clip], self.ffmpeg)
        with self.lock:
            self._times[found] = times
        return times

    def proxy(self, index: int) -> ProxyState:
        checked, seg = self.segment(index)
        if not isinstance(seg, ClipSegment):
            raise LookupError(f"segment {index} is a title")
        self._queue_proxies(checked)
        return self._proxies[(seg.clip, redactions_of(checked, seg.clip))]

    def _proxy_state(self, checked: Checked, seg: ClipSegment) -> ProxyState | None:
        return self._proxies.get((seg.clip, redactions_of(checked, seg.clip)))

    def _queue_proxies(self, checked: Checked) -> None:
        folder = cache_dir(checked.recipe)
        with self.lock:
            for seg in checked.recipe.segments:
                if not isinstance(seg, ClipSegment):
                    continue
                hidden = redactions_of(checked, seg.clip)
                if (seg.clip, hidden) in self._proxies:
                    continue
                info = checked.probes[seg.clip]
                # A capture with redactions has a copy of its own, named by them (issue 30).
                looks = ((tuple((o.region, o.mode) for o in hidden),) if hidden else ())
                name = proxy_name(key("proxy", file_identity(info.path), PROXY_HEIGHT,
                                      self.ffmpeg.version, *looks))
                state = ProxyState(folder / name)
                if state.path.is_file():
                    state.status, state.done = "ready", 1.0
                else:
                    self._proxy_queue.put((seg.clip, hidden, info))
                self._proxies[(seg.clip, hidden)] = state

    def _make_proxies(self) -> None:
        while not self.stopping.is_set():
            try:
                path, hidden, info = self._proxy_queue.get(timeout=0.5)
            except queue.Empty:
                continue
            state = self._proxies[(path, hidden)]
            state.status = "making"
            self.send("proxy", {"source": path.name, "status": "making", "done": 0})
            job = proxy_job(info, state.path, self.ffmpeg, hidden)
            progress = _ProxyProgress(self, path.name, job.frames)
            try:
                FfmpegRunner(progress=progress, workers=1).run(Plan(((job,),)))
            except CastkitError as error:
                state.status, state.error = "failed", str(error)
                self.send("proxy", {"source": path.name, "status": "failed", "error": str(error)})
                continue
            state.status, state.done = "ready", 1.0
            self.send("proxy", {"source": path.name, "status": "ready", "done": 1})

    # -- builds ---------------------------------------------------------------------------
    def start_build(self) -> bool:
        with self.lock:
            if self.build_thread is not None and self.build_thread.is_alive():
                return False
            self.build_thread = threading.Thread(target=self._build, daemon=True, name="build")
            self.build_thread.start()
            return True

    def _build(self) -> None:
        self.send("build", {"status": "started"})
        runner = FfmpegRunner(progress=EventProgress(self.send))
        self.build_runner = runner
        try:
            planned = build(self.recipe, runner=runner, ffmpeg=self.ffmpeg)
        except CastkitError as error:
            self.send("build", {"status": "failed", "errors": _problems(error)})
            return
        except Exception as error:  # noqa: BLE001 - reported to the page, the server goes on
            self.send("build", {"status": "failed", "errors": [f"{type(error).__name__}: {error}"]})
            return
        finally:
            self.build_runner = None
        casts = [c.output for c in planned.casts]
        self.send("build", {"status": "done", "outputs": [p.name for p in casts]})

    def output(self, index: int) -> Path:
        _, checked, problems = self.checked()
        if checked is None:
            raise Invalid(problems)
        outputs = checked.recipe.outputs
        if not 0 <= index < len(outputs) or not outputs[index].path.is_file():
            raise LookupError(f"there is no output {index} (yet)")
        return outputs[index].path

    def close(self) -> None:
        self.stopping.set()
        runner = self.build_runner
        if runner is not None:
            runner.stop()
        shutil.rmtree(self.work, ignore_errors=True)


class _ProxyProgress(Progress):
    def __init__(self, session: Session, name: str, frames: int) -> None:
        super().__init__(mode="quiet")
        self.session, self.name, self.frames = session, name, max(frames, 1)
        self._sent = -1.0

    def update(self, key: str, frames: int) -> None:
        super().update(key, frames)
        done = min(frames / self.frames, 1.0)
        if done - self._sent >= 0.02:
            self._sent = done
            self.session.send("proxy", {"source": self.name, "status": "making", "done": round(done, 3)})


def redactions_of(checked: Checked, clip: Path) -> tuple[Overlay, ...]:
    """Every redaction of every clip of ``clip`` in the recipe (issue 30), in recipe order."""
    return tuple(dict.fromkeys(o for seg in checked.recipe.segments if isinstance(seg, ClipSegment)
                               and seg.clip == clip for o in seg.overlays if o.redacts))


def held_always(redaction: Overlay) -> Drawn:
    """A redaction held over the whole capture, whatever its own times: the safe side where
    a picture is not the cast's (the player's copy, a frame outside the clip's trim)."""
    assert redaction.region is not None
    return Drawn(redaction, Fraction(-10 ** 9), Fraction(10 ** 9), Placement(0, 0, 1, 1))


def proxy_job(info: MediaInfo, out: Path, ffmpeg: Ffmpeg, hidden: tuple[Overlay, ...] = ()) -> Job:
    """A small H.264 copy of a capture for the page's player: at most 540 lines, every picture
    at its own timestamp (so the player's time is the capture's), a keyframe each second for
    quick seeks, and the capture's sound. ``hidden``: redactions of the clips made of it,
    each done on the capture's own pixels (as in the casts) in every picture of the whole
    copy: the player shows the capture beyond a clip's trim and the redaction's times, so the
    region is hidden all through (the safe side; the frame previews show the cast's times)."""
    ff = ffmpeg_module()
    source = open_capture(info)
    video = source.video
    assert info.video is not None
    shape = info.video.shown_shape[:2]
    pix_fmt = eight_bits(info.video.pix_fmt)
    if hidden and pix_fmt != info.video.pix_fmt:
        video = video.filter("format", pix_fmt)  # as the casts' pictures (plan.encode.source_picture)
    for overlay in hidden:
        video = redact(video, held_always(overlay), shape, Fraction(0), pix_fmt)
    video = video.filter("scale", w=-2, h=f"min({PROXY_HEIGHT},ih)")
    streams = [video] if info.audio is None else [video, source.audio]
    out_node = ff.output(*streams, file_url(out), f="mp4", vcodec="libx264", preset="veryfast",
                         crf=26, pix_fmt="yuv420p", fps_mode="passthrough",
                         force_key_frames="expr:gte(t,n_forced)", acodec="aac",
                         movflags="+faststart", map_metadata=-1)
    frames = round(info.duration * (info.video.fps if info.video and info.video.fps else 25))
    return Job(f"proxy of {info.path.name}", tuple(compile_argv(out_node, ffmpeg)), out, frames,
               (info.path,))


def _read_only(seg: ClipSegment) -> dict[str, str]:
    """What a clip does besides its trim, shown in the page as it is (not edited there)."""
    shown = {}
    if seg.crop:
        c = seg.crop
        shown["crop"] = f"{c.width}x{c.height}+{c.x}+{c.y}"
    if seg.speed != 1:
        shown["speed"] = f"{float(seg.speed):g}x"
    if seg.mute:
        shown["audio"] = "none"
    elif seg.audio is not None:
        shown["audio"] = seg.audio.name
    if seg.pauses is not None:
        shown["pauses"] = "cut" if seg.pauses.speed is None else f"{float(seg.pauses.speed):g}x"
    if seg.captions is not None:
        shown["captions"] = seg.captions.name
    if seg.chapter:
        shown["chapter"] = seg.chapter
    for name in ("fade_in", "fade_out"):
        value = getattr(seg.fades, name)
        if value:
            shown[name.replace("_", " ")] = f"{float(value):g} s"
    return shown


def _value(name: str, value: Any) -> Any:
    if name in ("title", "subtitle"):
        if value is None and name == "subtitle":
            return None
        if not isinstance(value, str):
            raise Invalid([f"{name}: text, please"])
        if len(value) > MAX_EDIT_TEXT:
            raise Invalid([f"{name}: longer than {MAX_EDIT_TEXT} characters"])
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid([f"{name}: not text castkit can write (a lone surrogate)"]) from None
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid([f"{name}: a number of seconds, please"])
    if value != value or value in (float("inf"), float("-inf")):
        raise Invalid([f"{name}: a number of seconds, please"])
    return Fraction(value).limit_denominator(1000)
