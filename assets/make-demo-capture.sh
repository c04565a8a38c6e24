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
#      deliberately shorter than the video, into Ogg (Theora + Vorbis).
#
# Requirements (Debian 12):
#   apt-get install xvfb xterm espeak-ng fonts-dejavu-core x11-utils
#   pip install imageio-ffmpeg   # ffmpeg with x11grab, libtheora, libvorbis
#
# Environment overrides:
#   FFMPEG   ffmpeg binary (default: the one bundled with imageio-ffmpeg)
#   PYTHON   python used to locate imageio-ffmpeg (default: python3)
#   OUT      output file (default: screencast.ogv next to this script)
#   DISPLAY_NUM  X display number for Xvfb (default: 99)
#   DURATION     capture length in seconds (default: 12)
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
delays=(0.09 0.12 0.07 0.11 0.08 0.14 0.10 0.06 0.13 0.09 0.11 0.08)
type_cmd() {
    local s="$1" i
    for ((i = 0; i < ${#s}; i++)); do
        printf '%s' "${s:i:1}"
        sleep "${delays[i % ${#delays[@]}]}"
    done
    sleep 0.35
    printf '\n'
}
clear
prompt
while [[ ! -e "$GO" ]]; do sleep 0.05; done
sleep 0.8

type_cmd "uname -sr"
echo "Linux 6.1.0-18-amd64"
prompt; sleep 0.6

type_cmd "python3 --version"
echo "Python 3.11.2"
prompt; sleep 0.6

type_cmd "ls -l assets"
cat <<'EOF'
total 12
-rwxr-xr-x 1 demo demo 5120 Mar  4 10:12 make-demo-capture.sh
-rw-r--r-- 1 demo demo 3072 Mar  4 10:12 README
EOF
prompt; sleep 0.6

type_cmd "echo 'hello, castkit'"
echo "hello, castkit"
prompt
# keep the terminal (and its blinking cursor) on screen until killed
sleep 3600
SESSION
chmod +x "$WORK/session.sh"

# ---------------------------------------------------------------- X server
Xvfb ":$DISPLAY_NUM" -screen 0 "${SIZE}x24" -dpi 96 -br -nolisten tcp \
    >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$DISPLAY_NUM"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
xdpyinfo >/dev/null 2>&1 || { echo "Xvfb did not start" >&2; cat "$WORK/xvfb.log" >&2; exit 1; }

# 84x30 cells of DejaVu Sans Mono 14pt @96dpi ~ 950x700 px: most of the screen
xterm -fa Monospace -fs 14 -geometry 84x30+30+25 -bg '#1d1f21' -fg '#d8d8d8' \
    -cr '#d8d8d8' -bc -b 8 -title "castkit demo" +sb \
    -e bash "$WORK/session.sh" "$WORK/go" &
XTERM_PID=$!
sleep 1.5   # let the window map and draw the first prompt

# ---------------------------------------------------------------- capture
# mpdecimate drops frames identical to the previous one (max=15 keeps at least
# one frame every ~second); -fps_mode vfr keeps the gaps in the timestamps.
# -g 250 keeps every timestamp inside one keyframe's granule range.
"$FFMPEG" -hide_banner -loglevel warning -y \
    -f x11grab -framerate "$FPS" -video_size "$SIZE" -draw_mouse 0 -i "$DISPLAY" \
    -i "$WORK/narration.wav" \
    -map 0:v -map 1:a -t "$DURATION" \
    -vf "format=yuv420p,mpdecimate=max=15" -fps_mode vfr \
    -c:v libtheora -q:v 8 -g 250 \
    -c:a libvorbis -q:a 3 -ac 1 -ar 22050 \
    -metadata title="castkit demo capture" \
    -metadata comment="Produced for castkit; CC0-1.0" \
    "$OUT" &
FF_PID=$!
sleep 0.4
touch "$WORK/go"
wait "$FF_PID"
FF_PID=""

echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
