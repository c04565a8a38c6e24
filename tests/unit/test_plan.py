"""Plans are pure: exact ffmpeg argument lists for each kind of job, no process run."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from castkit.media.ffmpeg import Ffmpeg
from castkit.media.pictures import Pictures
from castkit.plan.encode import Trim, clip_job, join_job, still_job
from castkit.base.jobs import concat_list
from castkit.outputs.dv import DvProfile
from castkit.media.probe import AudioInfo, MediaInfo, VideoInfo
from castkit.media.dv import DvTarget

FFMPEG = Ffmpeg("ffmpeg", "test", "9.0.2")
HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
FORMATS = (
    "ogg,matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,avi,dv,flv,asf,mpeg,mpegts,mpegvideo,h264,hevc,"
    "m4v,wav,w64,aiff,mp3,flac,aac,ac3,caf,au,amr,wv,ape,tta,ivf,yuv4mpegpipe,nut,gif,webp_pipe,"
    "image2,png_pipe,jpeg_pipe,bmp_pipe,tiff_pipe,gxf,mxf,rm"
)
PCM = ["-ac", "2", "-acodec", "pcm_s16le", "-ar", "48000", "-map_chapters", "-1", "-map_metadata", "-1"]


def capture(path="caps/take 1.ogv", size=(1366, 768), seconds=10, audio=True, fps=15) -> MediaInfo:
    return MediaInfo(
        Path(path), "ogg", Fraction(seconds),
        VideoInfo("theora", *size, Fraction(1), Fraction(fps)),
        AudioInfo("vorbis", 22050, 1) if audio else None,
    )


# What follows a raw DV encode's picture graph: exact repeats dropped (the picture padded so
# that mpdecimate compares every column), the rest encoded at their own timestamps, and the
# ffmpeg that lays the sound into the frames castkit feeds it (castkit.media.pictures).
def distinct_pictures(last: str, out: str) -> tuple[str, list[str]]:
    n = int(last[2:-1])
    graph = (f"{last}pad=h=576:w=752:x=32:y=0[s{n + 1}];[s{n + 1}]mpdecimate=frac=0:hi=0:lo=0:max=0[s{n + 2}];"
             f"[s{n + 2}]crop=exact=1:h=576:w=720:x=32:y=0[s{n + 3}]")
    return graph, ["-map", f"[s{n + 3}]", "-f", "tee", "-fps_mode", "passthrough", "-map_chapters", "-1",
                   "-map_metadata", "-1", "-vcodec", "dvvideo",
                   f"'[f=dv]file:{out}.pictures'|'[f=framecrc]pipe:7'"]


FED = ["-f", "dv", "-format_whitelist", "dv", "-protocol_whitelist", "pipe", "-i", "pipe:0"]


def test_trimmed_capture_to_pal():
    # 2.5 s in is frame 62 (62.5 rounds to even) and 62 x 1920 samples: picture and sound are
    # cut at the same frame boundary, counted from the start (no input seek: see clip_job).
    # A 30 fps capture gives more pictures than the 25 fps kept: they are scaled after the
    # rate conversion and the trim, only the 100 kept.
    job = clip_job(capture(fps=30), DvProfile(), Path("out/seg.dv"), FFMPEG, trim=Trim(Fraction(5, 2), Fraction(4)))
    source = ["-format_whitelist", FORMATS, "-protocol_whitelist", "file", "-threads", "1",
              "-i", "file:caps/take 1.ogv"]
    drop, encode = distinct_pictures("[s9]", "out/seg.dv")
    assert job.pictures.argv(Pictures.path(Path("out/seg.dv")), "pipe:7") == HEAD + source + [
        "-filter_complex",
        "[0:v]fps=fps=25:start_time=0[s0];[s0]tpad=stop=162:stop_mode=clone[s1];"
        "[s1]trim=end_frame=162:start_frame=62[s2];[s2]setpts=PTS-STARTPTS[s3];"
        "[s3]scale=flags=lanczos:h=432:out_color_matrix=bt601:out_range=tv:w=720[s4];"
        "[s4]pad=color=black:h=576:w=720:x=0:y=72[s5];[s5]setsar=16/15[s6];[s6]format=yuv420p[s7];"
        "[s7]tpad=stop=100:stop_mode=clone[s8];[s8]trim=end_frame=100[s9];" + drop,
        *encode,
    ]
    assert list(job.argv) == HEAD + FED + source + [
        "-filter_complex",
        "[1:a]aresample=48000:async=1:first_pts=0:min_hard_comp=0.01[s0];[s0]atrim=start_sample=119040[s1];"
        "[s1]asetpts=PTS-STARTPTS[s2];"
        "[s2]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s3];"
        "[s3]apad=whole_len=192000[s4];[s4]atrim=end_sample=192000[s5]",
        "-map", "0:v", "-map", "[s5]", "-f", "dv", *PCM, "-vcodec", "copy", "file:out/seg.dv",
    ]
    assert job.frames == 100 and job.output == Path("out/seg.dv")
    assert (job.pictures.frames, job.pictures.frame_bytes) == (100, 144000)


def test_silent_capture_to_ntsc_widescreen_avi():
    job = clip_job(capture("wide.ogv", (1920, 1080), 2, audio=False), DvProfile(DvTarget("ntsc", "16:9"), "avi"),
                   Path("wide.avi"), FFMPEG, final=True)
    assert list(job.argv) == HEAD + [
        "-format_whitelist", FORMATS, "-protocol_whitelist", "file", "-threads", "1",
        "-i", "file:wide.ogv",
        "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
        "-filter_complex",
        # 15 fps into 29.97: each of the 30 pictures is scaled once, before the rate
        # conversion repeats them into 60 frames.
        "[0:v]scale=flags=lanczos:h=480:out_color_matrix=bt601:out_range=tv:w=720[s0];"
        "[s0]setsar=32/27[s1];[s1]format=yuv411p[s2];[s2]fps=fps=30000/1001:start_time=0[s3];"
        "[s3]tpad=stop=60:stop_mode=clone[s4];[s4]trim=end_frame=60[s5];"
        "[1:a]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s6];"
        "[s6]apad=whole_len=96096[s7];[s7]atrim=end_sample=96096[s8]",
        "-map", "[s5]", "-map", "[s8]", "-f", "avi", *PCM, "-vcodec", "dvvideo", "file:wide.avi",
    ]


def test_pictures_are_scaled_where_fewer_of_them_pass():
    def order(info, trim=Trim()):
        graph = clip_job(info, DvProfile(), Path("o.dv"), FFMPEG, trim=trim).pictures.head
        graph = graph[graph.index("-filter_complex") + 1]
        return graph.index("scale=") < graph.index("fps=")

    assert order(capture(fps=15)), "15 fps into 25: scaled before the repeats"
    assert not order(capture(fps=30)), "30 fps into 25: scaled after the drops"
    assert not order(capture(fps=25)), "as many either way: the plain order"
    # 8 s skipped and 2 s kept of a 15 fps capture: 150 decoded pictures against 50 kept.
    assert not order(capture(fps=15), Trim(Fraction(8), Fraction(2)))
    assert order(capture(fps=15), Trim(Fraction(1), Fraction(9)))
    # A rate the probe could not tell: the plain order.
    info = capture()
    assert not order(MediaInfo(info.path, "ogg", info.duration,
                               VideoInfo("theora", 1366, 768, Fraction(1), None), None))


def test_title_still_loops_into_exact_frames_with_silence():
    job = still_job(Path("card.png"), (768, 576), 100, DvProfile(), Path("t.dv"), FFMPEG)
    drop, encode = distinct_pictures("[s4]", "t.dv")
    assert job.pictures.argv(Pictures.path(Path("t.dv")), "pipe:7") == HEAD + [
        "-f", "image2", "-format_whitelist", FORMATS, "-framerate", "25",
        "-protocol_whitelist", "file", "-i", "file:card.png",
        "-filter_complex",
        # One picture, scaled once, then held for 100 frames (and encoded once).
        "[0:v]scale=flags=lanczos:h=576:out_color_matrix=bt601:out_range=tv:w=720[s0];"
        "[s0]setsar=16/15[s1];[s1]format=yuv420p[s2];"
        "[s2]tpad=stop=100:stop_mode=clone[s3];[s3]trim=end_frame=100[s4];" + drop,
        *encode,
    ]
    assert list(job.argv) == HEAD + FED + [
        "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
        "-filter_complex",
        "[1:a]aformat=channel_layouts=stereo:sample_fmts=s16:sample_rates=48000[s0];"
        "[s0]apad=whole_len=192000[s1];[s1]atrim=end_sample=192000[s2]",
        "-map", "0:v", "-map", "[s2]", "-f", "dv", *PCM,
        "-vcodec", "copy", "file:t.dv",
    ]


def test_join_is_a_stream_copy_of_a_quoted_concat_list():
    job = join_job([Path("/c/a.dv"), Path("/c/it's.dv")], Path("/o/.x.concat.txt"), 10,
                   Path("/o/x.avi"), FFMPEG, DvTarget("ntsc"), container="avi")
    assert list(job.argv) == HEAD + [
        "-f", "concat", "-format_whitelist", "concat,dv", "-protocol_whitelist", "file",
        "-safe", "0", "-i", "file:/o/.x.concat.txt",
        "-f", "avi", "-c", "copy", "-map_metadata", "-1", "-r", "30000/1001", "file:/o/x.avi",
    ]
    assert job.writes == ((Path("/o/.x.concat.txt"),
                           "ffconcat version 1.0\nfile 'file:/c/a.dv'\nfile 'file:/c/it'\\''s.dv'\n"),)


def test_paths_that_look_like_options_or_protocols_stay_files():
    job = clip_job(capture("-rf.ogv"), DvProfile(), Path("http:x.dv"), FFMPEG)
    assert "file:-rf.ogv" in job.argv and job.argv[-1] == "file:http:x.dv"
    assert "file:-rf.ogv" in job.pictures.head


def test_concat_list_refuses_line_breaks():
    import pytest

    from castkit.errors import UsageError

    with pytest.raises(UsageError):
        concat_list([Path("/a\nfile '/etc/passwd'.dv")])


def test_shell_form_is_copy_pastable():
    job = join_job([Path("/c/a.dv")], Path("/o/l.txt"), 1, Path("/o/my cast.dv"), FFMPEG, DvTarget())
    shell = job.shell()
    assert shell.startswith("cat > /o/l.txt <<'CASTKIT_EOF'\nffconcat version 1.0\nfile 'file:/c/a.dv'\nCASTKIT_EOF\n")
    assert shell.endswith("'file:/o/my cast.dv'")


def test_an_animated_gif_is_each_distinct_picture_once_with_a_palette_from_a_second_reading():
    """The GIF's join (issue 26): the cast's RGB pictures read twice (the palette from the
    second reading, so that ffmpeg holds no picture until it is known), each band of rows held
    with a tolerance, then exact repeats dropped but the cast's last frame (marked in the
    padding), no dithering."""
    from castkit.media.raster import ImageRaster
    from castkit.outputs.animated import AnimatedProfile

    profile = AnimatedProfile(ImageRaster(160, 100, Fraction(10)), "gif", 64, loop=False)
    out = Path("/out/cast.gif")
    job = profile.join([(Path("/c/a.mp4"), 30), (Path("/c/b.mp4"), 12)], out, Path("/c"), FFMPEG, "join")
    listing = job.writes[0][0]
    source = ["-f", "concat", "-format_whitelist", "concat,mov", "-protocol_whitelist", "file",
              "-safe", "0", "-i", f"file:{listing}"]
    again = [*source[:2], "-auto_convert", "1", *source[2:]]

    def once(first: int, prefix: str) -> str:
        """One reading: four bands of rows (32, 32, 32 and 4, padded to 8 for mpdecimate's
        blocks), each held with the tolerance and back at 10 fps, stacked, then exact repeats
        dropped; the last frame (41) marked in every comparison."""
        label = iter(f"[s{first + i}]" for i in range(34))
        def chain(source: str, *filters: str) -> tuple[str, str]:
            text = []
            for f in filters:
                out = next(label)
                text.append(f"{source}{f}{out}")
                source = out
            return ";".join(text), source

        def compared(h: int, h8: int, **tolerance: str) -> tuple[str, ...]:
            return (f"pad=h={h8}:w=192:x=32:y=0", "fillborders=color=white:enable=eq(n\\,41):left=24:mode=fixed",
                    "mpdecimate=frac={frac}:hi={hi}:lo={lo}:max=0".format(**tolerance),
                    f"crop=exact=1:h={h}:w=160:x=32:y=0")

        splits = [next(label) for _ in range(4)]
        parts, ends = [f"{prefix}split=4{''.join(splits)}"], []
        for top, h, h8, src in ((0, 32, 32, splits[0]), (32, 32, 32, splits[1]), (64, 32, 32, splits[2]),
                                (96, 4, 8, splits[3])):
            text, end = chain(src, f"crop=exact=1:h={h}:w=160:x=0:y={top}",
                              *compared(h, h8, frac="0.33", hi="256", lo="128"), "fps=10")
            parts.append(text)
            ends.append(end)
        stacked = next(label)
        parts.append(f"{''.join(ends)}vstack=inputs=4{stacked}")
        text, _ = chain(stacked, *compared(100, 104, frac="0", hi="0", lo="0"), "format=rgb24")
        return ";".join([*parts, text])

    graph = (once(0, "[0:v]") + ";" + once(34, "[1:v]") + ";[s67]palettegen=max_colors=64:stats_mode=full[s68];"
             "[s33][s68]paletteuse=diff_mode=rectangle:dither=none[s69]")
    assert list(job.argv) == [*HEAD, *source, *again, "-filter_complex", graph, "-map", "[s69]",
                              "-f", "gif", "-final_delay", "10", "-fps_mode", "vfr", "-loop", "-1",
                              f"file:{out}"]
    assert job.inputs == (Path("/c/a.mp4"), Path("/c/b.mp4")) and job.frames == 42


def test_gifsicle_re_encodes_a_finished_gif_beside_it(monkeypatch, tmp_path):
    """After ffmpeg, the GIF job's finish step: gifsicle ``-O3`` (and ``--lossy``) from the
    temporary GIF into a temporary file of its own beside the output, which replaces it; shown
    by --dry-run as one in-place command. Without gifsicle, no step."""
    import castkit.outputs.animated as animated
    from castkit.media.gifsicle import Gifsicle
    from castkit.media.raster import ImageRaster

    profile = animated.AnimatedProfile(ImageRaster(160, 100, Fraction(10)), "gif", 64, lossy=30)
    out = Path("/out/cast.gif")
    monkeypatch.setattr(animated, "find_gifsicle", lambda: Gifsicle("/g/gifsicle", "test", (1, 96)))
    job = profile.join([(Path("/c/a.mp4"), 30)], out, Path("/c"), FFMPEG, "join")
    (step,) = job.finish
    assert step.shell() == "/g/gifsicle --no-warnings -O3 --lossy=30 --batch /out/cast.gif  # in place"
    assert job.shell().endswith("\n" + step.shell())
    ran = []

    def fake_run(argv, **_):
        ran.append(argv)
        Path(argv[-1]).write_bytes(b"smaller")
        return animated.subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setattr(animated.subprocess, "run", fake_run)
    temp = tmp_path / ".cast.gif.1-abcdefgh.partial"
    temp.write_bytes(b"ffmpeg's gif")
    animated.GifOptimised(step.gifsicle, 30, tmp_path / "cast.gif").apply(temp)
    (argv,) = ran
    assert argv[:5] == ["/g/gifsicle", "--no-warnings", "-O3", "--lossy=30", str(temp)]
    assert argv[5] == "-o" and Path(argv[6]).parent == tmp_path and Path(argv[6]).name.startswith(".cast.gif.")
    assert temp.read_bytes() == b"smaller" and sorted(p.name for p in tmp_path.iterdir()) == [temp.name]
    monkeypatch.setattr(animated, "find_gifsicle", lambda: None)
    assert profile.join([(Path("/c/a.mp4"), 30)], out, Path("/c"), FFMPEG, "join").finish == ()
