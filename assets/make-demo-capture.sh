#!/usr/bin/env bash
# make-demo-capture.sh -- re-create castkit's bundled demo capture
# (assets/screencast.ogv) from scratch.
#
# What it does:
#   1. starts a private Xvfb server (1024x768x24, black root window),
#   2. opens an xterm (DejaVu Sans Mono 14 pt, dark theme) that "types" a
#      short, scripted terminal session character by character,
#   3. records the screen with ffmpeg's x11grab at 15 fps, dropping frames in
#      which nothing changed (mpdecimate + -fps_mode vfr), like screen
#      recorders such as Istanbul do,
#   4. muxes an espeak-ng voice-over (Vorbis, mono, 22050 Hz) that is
#      deliberately shorter than the video, into Ogg (Theora + Vorbis),
#   5. rewrites the Theora stream so that every skipped frame tick is a
#      zero-length "dup" packet (how libtheora/GStreamer recorders store
#      unchanged frames; ffmpeg's Ogg demuxer mis-times ffmpeg's own
#      granule-jump VFR output) and pads it to the full capture length.
#
# Requirements (Debian 12):
#   apt-get install xvfb xterm espeak-ng fonts-dejavu-core x11-utils
#   pip install imageio-ffmpeg   # ffmpeg with x11grab, libtheora, libvorbis
#   python3 (stdlib only) for step 5
#
# Environment overrides:
#   FFMPEG   ffmpeg binary (default: the one bundled with imageio-ffmpeg)
#   PYTHON   python used to locate imageio-ffmpeg (default: python3)
#   OUT      output file (default: screencast.ogv next to this script)
#   DISPLAY_NUM  X display number for Xvfb (default: 99)
#   DURATION     capture length in whole seconds (default: 12; the typed
#                session is timed for 12)
#
# Usage: ./make-demo-capture.sh            (use --install-deps to apt-get)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$HERE/screencast.ogv}"
DISPLAY_NUM="${DISPLAY_NUM:-99}"
DURATION="${DURATION:-12}"
FPS=15
SIZE=1024x768
NARRATION="This is castkit's demo capture. We type a few commands in a terminal."

if [[ "${1:-}" == "--install-deps" ]]; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends \
        xvfb xterm espeak-ng fonts-dejavu-core x11-utils
fi

if [[ -z "${FFMPEG:-}" ]]; then
    FFMPEG="$("${PYTHON:-python3}" -c 'import imageio_ffmpeg;print(imageio_ffmpeg.get_ffmpeg_exe())')"
fi
for tool in Xvfb xterm espeak-ng xdpyinfo "$FFMPEG"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

WORK="$(mktemp -d)"
XVFB_PID=""; XTERM_PID=""; FF_PID=""
cleanup() {
    for p in $FF_PID $XTERM_PID $XVFB_PID; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- narration
espeak-ng -v en-us -s 155 -w "$WORK/narration.wav" "$NARRATION"

# ------------------------------------------------------- typing session
# The session waits for $WORK/go (created once the recorder runs), then types
# each command with small random-looking (but fixed) delays and prints
# canned output, so the result is reproducible and leaks nothing about the
# build host.
cat > "$WORK/session.sh" <<'SESSION'
#!/usr/bin/env bash
GO="$1"
G=$'\e[1;32m'; B=$'\e[1;34m'; N=$'\e[0m'
prompt() { printf '%sdemo@castkit%s:%s~/castkit%s$ ' "$G" "$N" "$B" "$N"; }
# at T: sleep until T seconds after the recorder started (absolute schedule,
# so per-character sleep overhead does not push events past the end)
at() { sleep "$(awk -v t0="$T0" -v t="$1" -v now="$EPOCHREALTIME" \
                 'BEGIN { d = t0 + t - now; print (d > 0 ? d : 0) }')"; }
delays=(0.09 0.12 0.07 0.11 0.08 0.14 0.10 0.06 0.13 0.09 0.11 0.08)
type_cmd() {   # type_cmd TEXT [per-char delay]
    local s="$1" i
    for ((i = 0; i < ${#s}; i++)); do
        printf '%s' "${s:i:1}"
        sleep "${2:-${delays[i % ${#delays[@]}]}}"
    done
}
clear
prompt
while [[ ! -e "$GO" ]]; do sleep 0.02; done
T0=$EPOCHREALTIME

at 0.6;  type_cmd "uname -sr";          sleep 0.35; echo
echo "Linux 6.1.0-18-amd64"
prompt
at 2.5;  type_cmd "python3 --version";  sleep 0.35; echo
echo "Python 3.11.2"
prompt
at 5.1;  type_cmd "ls -l assets";       sleep 0.35; echo
printf '%s\n' "total 12" \
    "-rwxr-xr-x 1 demo demo 5120 Mar  4 10:12 make-demo-capture.sh" \
    "-rw-r--r-- 1 demo demo 3072 Mar  4 10:12 README"
prompt
at 7.25; type_cmd "echo 'hello, castkit'"; sleep 0.35; echo
echo "hello, castkit"
prompt
# start typing "exit" just as the recorder is stopped (~12 s), so the last
# captured frame lands close to the end of the capture
at 11.2; type_cmd "exit" 0.18
sleep 3600   # stay on screen until killed
SESSION
chmod +x "$WORK/session.sh"

# -------------------------------------------------- Ogg Theora post-process
# ffmpeg writes VFR Theora as granule-position jumps, which ffmpeg's own Ogg
# demuxer mis-times.  Rewrite gaps as zero-length "dup" packets, the way
# libtheora/GStreamer recorders (Istanbul) do it; pad to the full duration.
cat > "$WORK/ogg_theora_dups.py" <<'PYTHON'
"""Turn ffmpeg's variable-frame-rate Ogg Theora into spec-style Theora.

ffmpeg's libtheora+ogg path writes a VFR stream as granule-position jumps,
which ffmpeg's own Ogg demuxer then mis-times (each frame is reported one
tick after the previous one).  The Theora way (libtheora's dup frames, what
GStreamer-based recorders such as Istanbul write) is a zero-length packet
for every frame tick in which the picture did not change.  This rewrites
the video pages accordingly, pads with such packets up to N frames (so the
stream lasts the whole capture) and copies the Vorbis pages verbatim.

usage: ogg_theora_dups.py IN.ogv OUT.ogv TOTAL_FRAMES
"""
import struct
import sys

_T = []
for _i in range(256):
    _r = _i << 24
    for _ in range(8):
        _r = ((_r << 1) ^ 0x04C11DB7) if _r & 0x80000000 else (_r << 1)
    _T.append(_r & 0xFFFFFFFF)


def _crc(data):
    r = 0
    for x in data:
        r = ((r << 8) ^ _T[((r >> 24) ^ x) & 0xFF]) & 0xFFFFFFFF
    return r


def read_pages(data):
    i = 0
    while i < len(data):
        if data[i:i + 4] != b"OggS":
            raise ValueError("lost Ogg sync at byte %d" % i)
        flags = data[i + 5]
        gp, serial, _seq = struct.unpack("<qII", data[i + 6:i + 22])
        nseg = data[i + 26]
        segs = data[i + 27:i + 27 + nseg]
        end = i + 27 + nseg + sum(segs)
        yield dict(flags=flags, gp=gp, serial=serial, segs=segs,
                   body=data[i + 27 + nseg:end], raw=data[i:end])
        i = end


def build_pages(packet, gp, serial, seq, flags):
    """One packet -> one or more pages (continued pages if > 255 segments)."""
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    out, pos, first = [], 0, True
    while True:
        chunk = lacing[:255]
        lacing = lacing[255:]
        size = sum(chunk)
        last = not lacing
        f = (flags if last else flags & ~4) | (0 if first else 1)
        hdr = (b"OggS\x00" + bytes([f & 0xFF]) +
               struct.pack("<qIII", gp if last else -1, serial, seq, 0) +
               bytes([len(chunk)]) + bytes(chunk))
        body = packet[pos:pos + size]
        crc = struct.pack("<I", _crc(hdr + body))
        out.append(hdr[:22] + crc + hdr[26:] + body)
        pos += size
        seq += 1
        first = False
        if last:
            return out, seq


def main(src, dst, total):
    data = open(src, "rb").read()
    pages = list(read_pages(data))
    idh = pages[0]["body"]
    if idh[1:7] != b"theora":
        raise ValueError("first stream is not Theora")
    vserial = pages[0]["serial"]
    vrev = idh[9]
    gshift = ((idh[40] & 3) << 3) | (idh[41] >> 5)
    mask = (1 << gshift) - 1
    # frame number (1-based) of a granule; Theora < 3.2.1 counts from 0
    fnum = lambda gp: (gp >> gshift) + (gp & mask) + (0 if vrev >= 1 else 1)

    items = []          # ("raw", bytes) | ("v", packet, granule, flags)
    partial, headers, nframes, kf = b"", 0, 0, 0
    for pg in pages:
        if pg["serial"] != vserial:
            items.append(("raw", pg["raw"]))
            continue
        done, pos = [], 0
        for s in pg["segs"]:
            partial += pg["body"][pos:pos + s]
            pos += s
            if s < 255:
                done.append(partial)
                partial = b""
        for pkt in done:
            if headers < 3:                      # id / comment / setup
                items.append(("v", pkt, 0, 2 if headers == 0 else 0))
                headers += 1
                continue
            if len(done) != 1:
                raise ValueError("several frames end on one page; cannot time them")
            gp = pg["gp"]
            frame = fnum(gp)
            kf = gp >> gshift
            while nframes + 1 < frame:           # gap -> dup (empty) packets
                nframes += 1
                if nframes - kf > mask:
                    raise ValueError("granule offset overflow; use a larger -g")
                items.append(("v", b"", (kf << gshift) | (nframes - kf), 0))
            nframes = frame
            items.append(("v", pkt, gp, 0))
    while nframes < total:                       # static tail until "stop"
        nframes += 1
        if nframes - kf > mask:
            raise ValueError("granule offset overflow; use a larger -g")
        items.append(("v", b"", (kf << gshift) | (nframes - kf), 0))

    last_v = max(i for i, it in enumerate(items) if it[0] == "v")
    out, seq = [], 0
    for i, it in enumerate(items):
        if it[0] == "raw":
            out.append(it[1])
        else:
            flags = it[3] | (4 if i == last_v else 0)
            pgs, seq = build_pages(it[1], it[2], vserial, seq, flags)
            out.extend(pgs)
    open(dst, "wb").write(b"".join(out))
    print("theora: %d frame ticks, %d coded frames" %
          (nframes, sum(1 for it in items if it[0] == "v" and it[1]) - 3),
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
PYTHON

# ---------------------------------------------------------------- X server
Xvfb ":$DISPLAY_NUM" -screen 0 "${SIZE}x24" -dpi 96 -br -nolisten tcp \
    >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$DISPLAY_NUM"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
xdpyinfo >/dev/null 2>&1 || { echo "Xvfb did not start" >&2; cat "$WORK/xvfb.log" >&2; exit 1; }

# 84x30 cells of DejaVu Sans Mono 14pt @96dpi ~ 950x700 px: most of the screen
xterm -fa Monospace -fs 14 -geometry 84x30+30+25 -bg '#1d1f21' -fg '#d8d8d8' \
    -cr '#d8d8d8' -b 8 -title "castkit demo" +sb \
    -e bash "$WORK/session.sh" "$WORK/go" &
XTERM_PID=$!
sleep 1.5   # let the window map and draw the first prompt

# ---------------------------------------------------------------- capture
# x11grab at 15 fps for $DURATION s (input -t ends the grab, output -t drops
# the extra frame stamped exactly $DURATION s); mpdecimate drops
# frames identical to the previous one and -fps_mode vfr keeps the gaps.
# -g 250: libtheora then uses an 8-bit keyframe granule shift, so all 180
# frame ticks fit after the single keyframe (needed by the dup-packet rewrite
# below); -page_duration 1 puts every video packet on its own Ogg page, so
# each frame's granule (= timestamp) is recorded exactly.
"$FFMPEG" -nostdin -hide_banner -loglevel warning -y \
    -f x11grab -framerate "$FPS" -video_size "$SIZE" -draw_mouse 0 \
    -t "$DURATION" -i "$DISPLAY" \
    -i "$WORK/narration.wav" \
    -map 0:v -map 1:a -t "$DURATION" \
    -vf "format=yuv420p,mpdecimate" -fps_mode vfr \
    -c:v libtheora -q:v 8 -g 250 \
    -c:a libvorbis -q:a 3 -ac 1 -ar 22050 -page_duration 1 \
    -metadata title="castkit demo capture" \
    -metadata comment="Produced for castkit; CC0-1.0" \
    "$WORK/raw.ogv" &
FF_PID=$!
sleep 0.3
touch "$WORK/go"
wait "$FF_PID"
FF_PID=""

"${PYTHON:-python3}" "$WORK/ogg_theora_dups.py" "$WORK/raw.ogv" "$OUT" \
    "$((DURATION * FPS))"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
