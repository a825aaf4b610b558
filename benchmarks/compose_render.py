"""Video production compositor (synthesis.compose): end-to-end render speed of a text-driven video.

Timeline: 1920x1080 at 25 fps, 3 scenes of equal length (60 s in all by default), each with a picture
background (scikit-image sample photos scaled up), a title text layer, an avatar stand-in and the scene's
speech; subtitle-like overlays (a new line every 3 s) and music ducked under the speech. The avatar stand-in is
a FramesLayer that yields precomputed BGRA frames (a 2 s loop, 720x900, soft matte), so the figure measures
composition + encoding, not the avatar renderer. Speech is synthetic (speech-like noise bursts after a 100 ms
1 kHz beep at each scene start, so sync can be measured in the output).

Figures (each run in its own process, pinned by the caller, e.g. `taskset -c 0,1`):
* RTF = wall time of `render()` (audio mix, composing, encoding, muxing) / seconds of video; goal <= 0.5.
* Peak memory: ru_maxrss of the worker process + the largest child (the ffmpeg encoder or a decoder);
  the precomputed avatar frames (~80 MB) are included.
* A/V sync: onset of each scene's beep in the encoded file's audio against the scene's first frame time, in
  frames (goal within +-1).
* `--seconds 60 600`: the same timeline at each length; linearity = RTF(longest) / RTF(shortest).
Baseline in the same run: the same timeline composed with moviepy 2.2.1 (CompositeVideoClip, ImageClips, a
VideoClip with a mask for the avatar, the same subtitle pictures, music at a fixed volume: moviepy has no
ducking), written with the same x264 preset and threads=2. moviepy is looked for in this interpreter, then in
the interpreter named by $MOVIEPY_PYTHON, then in .venv-bench (benchmarks/requirements-bench.txt); when none
has it the baseline is reported as skipped.

Usage: taskset -c 0,1 .venv/bin/python benchmarks/compose_render.py [--seconds 60 [600 ...]] [--preset P]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._common import emit, exit_on_sigterm  # noqa: E402

W, H, FPS = 1920, 1080, 25
RATE = 48000
GOAL_RTF = 0.5
AVATAR_BOX = (1120, 160, 720, 920)
AVATAR_LOOP_FRAMES = 50
SUB_EVERY_S = 3.0
TITLES = ["Quarterly results 第一季度", "Our new product line 新品发布", "Thank you for watching 谢谢观看"]


# --- media -----------------------------------------------------------------------------------------------------


def _write_wav(path: Path, pcm: np.ndarray, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(np.clip(pcm, -32768, 32767).astype("<i2").tobytes())
    return path


def _speech(seconds: float, seed: int) -> np.ndarray:
    """A 100 ms 1 kHz beep, then speech-like bursts (syllable-rate modulated noise) with pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    env = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    env *= (np.sin(2 * np.pi * 0.25 * t) > -0.6)  # pauses between "sentences"
    voice = rng.standard_normal(n) * 0.15 + 0.1 * np.sin(2 * np.pi * 180 * t)
    pcm = voice * env * 32767 * 0.5
    pcm[: int(0.3 * RATE)] = 0
    beep = int(0.1 * RATE)
    pcm[:beep] = 0.6 * 32767 * np.sin(2 * np.pi * 1000 * t[:beep])
    return pcm


def _music(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    pulse = 0.6 + 0.4 * np.sin(2 * np.pi * 2 * t)
    mono = chord * pulse * 0.2 * 32767
    return np.stack([mono, np.roll(mono, 240)], axis=1).reshape(-1)


def _photos() -> list[np.ndarray]:
    import cv2
    import skimage.data

    out = []
    for name in ("coffee", "chelsea", "rocket"):
        rgb = getattr(skimage.data, name)()
        out.append(cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (W, H), interpolation=cv2.INTER_CUBIC))
    return out


def _avatar_frames() -> np.ndarray:
    """(N, 900, 720, 4) BGRA: the astronaut photo in a soft oval matte, bobbing and 'talking'."""
    import cv2
    import skimage.data

    bw, bh = AVATAR_BOX[2], AVATAR_BOX[3]
    face = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (bw, bw))
    person = np.zeros((bh, bw, 3), np.uint8)
    person[: bw] = face
    person[bw:] = face[-1]
    mask = np.zeros((bh, bw), np.uint8)
    cv2.ellipse(mask, (bw // 2, bh // 2 + 60), (bw // 2 - 60, bh // 2 - 40), 0, 0, 360, 255, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 6)
    frames = np.empty((AVATAR_LOOP_FRAMES, bh, bw, 4), np.uint8)
    for k in range(AVATAR_LOOP_FRAMES):
        shift = np.float32([[1, 0, 0], [0, 1, 4 * np.sin(2 * np.pi * k / AVATAR_LOOP_FRAMES)]])
        img = cv2.warpAffine(person, shift, (bw, bh), borderMode=cv2.BORDER_REPLICATE)
        opening = int(6 + 14 * abs(np.sin(k * 0.7)))
        cv2.ellipse(img, (int(bw * 0.47), int(bw * 0.55)), (38, opening), 0, 0, 360, (40, 30, 90), -1)
        frames[k, :, :, :3] = img
        frames[k, :, :, 3] = cv2.warpAffine(mask, shift, (bw, bh))
    return frames


def _subtitle_pngs(folder: Path, count: int) -> list[dict]:
    """One RGBA strip (white text, dark translucent box) per subtitle line."""
    from PIL import Image, ImageDraw

    from synthesis.photo.card import card_font

    font = card_font(52)
    subs = []
    for i in range(count):
        text = f"Line {i + 1}: composing frames in a stream 第{i + 1}句字幕"
        strip = Image.new("RGBA", (1600, 100), (0, 0, 0, 0))
        draw = ImageDraw.Draw(strip)
        width = draw.textlength(text, font=font)
        left = (1600 - width) / 2
        draw.rounded_rectangle([left - 24, 8, left + width + 24, 92], radius=16, fill=(0, 0, 0, 150))
        draw.text((left, 18), text, font=font, fill=(255, 255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0, 255))
        path = folder / f"sub{i:03d}.png"
        strip.save(path)
        subs.append({"path": str(path), "start": i * SUB_EVERY_S, "end": (i + 1) * SUB_EVERY_S, "x": 160, "y": 940})
    return subs


def _title_png(folder: Path, k: int) -> str:
    """The title as a picture, for the moviepy baseline (the engine draws the same text itself)."""
    import cv2

    from synthesis.compose.compositor import text_picture

    path = folder / f"title{k}.png"
    cv2.imwrite(str(path), text_picture(_title_layer(k)))
    return str(path)


def _title_layer(k: int):
    from synthesis.compose.timeline import TextLayer

    return TextLayer(x=80, y=60, width=1000, height=140, text=TITLES[k], font_size=72, colour=(255, 255, 255),
                     bold=True, align="left", stroke_width=3, stroke_colour=(20, 20, 20))


def make_spec(folder: Path, seconds: float) -> dict:
    import cv2

    scene_s = seconds / 3
    scenes = []
    for k, photo in enumerate(_photos()):
        bg = folder / f"bg{k}.jpg"
        cv2.imwrite(str(bg), photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
        speech = _write_wav(folder / f"speech{k}.wav", _speech(scene_s, k))
        scenes.append({"background": str(bg), "speech": str(speech), "seconds": scene_s,
                       "title_png": _title_png(folder, k)})
    np.save(folder / "avatar.npy", _avatar_frames())
    return {
        "seconds": seconds, "scenes": scenes, "avatar": str(folder / "avatar.npy"), "avatar_box": AVATAR_BOX,
        "music": str(_write_wav(folder / "music.wav", _music(37.0), channels=2)), "music_volume": 0.35,
        "subtitles": _subtitle_pngs(folder, int(np.ceil(seconds / SUB_EVERY_S))),
    }


# --- workers (each in its own process, for a clean peak RSS) ------------------------------------------------------


class _Subtitles:
    def __init__(self, subs: list[dict]):
        self.subs = subs
        self._cur: tuple[int, tuple] | None = None

    def overlay_at(self, t: float):
        import cv2

        i = int(t // SUB_EVERY_S)
        if i >= len(self.subs):
            return None
        if self._cur is None or self._cur[0] != i:
            s = self.subs[i]
            bgra = cv2.imread(s["path"], cv2.IMREAD_UNCHANGED)
            self._cur = (i, (bgra, (s["x"], s["y"])))
        return self._cur[1]

    channel_order = "BGRA"


def worker_engine(spec: dict, out: Path, preset: str, matrix: str = "bt709") -> dict:
    from synthesis.compose.compositor import render
    from synthesis.compose.timeline import Canvas, FramesLayer, ImageBackground, Music, Scene, Timeline

    frames = np.load(spec["avatar"])
    x, y, bw, bh = spec["avatar_box"]

    def looped(fps, count):
        for i in range(count):
            yield frames[i % len(frames)]

    scenes = [Scene(None, ImageBackground(s["background"]),
                    [_title_layer(k), FramesLayer(x=x, y=y, width=bw, height=bh, source=looped)], audio=s["speech"])
              for k, s in enumerate(spec["scenes"])]
    tl = Timeline(Canvas(W, H, FPS), scenes, music=Music(spec["music"], volume=spec["music_volume"]),
                  subtitles=_Subtitles(spec["subtitles"]))
    t0 = time.perf_counter()
    result = render(tl, out, preset=preset, matrix=matrix)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "video_s": result.duration_s, "frames": result.frames,
            "stages": {k: round(v, 2) for k, v in result.seconds_by_stage.items()},
            "scene_starts": tl.scene_starts(), "peak_rss_mb": _peak_rss_mb()}


def worker_moviepy(spec: dict, out: Path, preset: str, matrix: str = "") -> dict:
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        VideoClip,
        afx,
        concatenate_audioclips,
    )

    frames = np.load(spec["avatar"])
    rgb = frames[:, :, :, 2::-1]  # BGRA -> RGB views
    alpha = frames[:, :, :, 3]
    x, y, _, _ = spec["avatar_box"]
    t0 = time.perf_counter()
    layers, sounds, at = [], [], 0.0
    for s in spec["scenes"]:
        d = s["seconds"]
        speech = AudioFileClip(s["speech"])
        d = max(d, speech.duration)
        layers.append(ImageClip(s["background"]).with_start(at).with_duration(d))
        layers.append(ImageClip(s["title_png"]).with_start(at).with_duration(d).with_position((80, 60)))
        avatar = VideoClip(lambda t: rgb[int(round(t * FPS)) % len(rgb)], duration=d)
        mask = VideoClip(lambda t: alpha[int(round(t * FPS)) % len(alpha)] / 255.0, is_mask=True, duration=d)
        layers.append(avatar.with_mask(mask).with_start(at).with_position((x, y)))
        sounds.append(speech.with_start(at))
        at += d
    for sub in spec["subtitles"]:
        if sub["start"] < at:
            layers.append(ImageClip(sub["path"]).with_start(sub["start"])
                          .with_duration(min(sub["end"], at) - sub["start"]).with_position((sub["x"], sub["y"])))
    music = AudioFileClip(spec["music"])
    loops = concatenate_audioclips([music] * int(np.ceil(at / music.duration)))
    sounds.append(loops.with_duration(at).with_effects([afx.MultiplyVolume(spec["music_volume"])]))
    video = CompositeVideoClip(layers, size=(W, H)).with_duration(at).with_audio(CompositeAudioClip(sounds))
    video.write_videofile(str(out), fps=FPS, codec="libx264", preset=preset, audio_codec="aac", threads=2,
                          logger=None)
    wall = time.perf_counter() - t0
    import moviepy

    return {"wall_s": wall, "video_s": at, "peak_rss_mb": _peak_rss_mb(), "version": moviepy.__version__}


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + child) / 1024.0, 1)


# --- checks on the output ----------------------------------------------------------------------------------------


def av_sync_frames(path: Path, scene_starts: list[int]) -> list[float]:
    """For each scene: (beep onset in the file's audio - the scene's first frame time) in frames."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(RATE),
                          "-f", "s16le", "-"], capture_output=True, check=True).stdout
    pcm = np.abs(np.frombuffer(raw, np.int16).astype(np.float32))
    offsets = []
    for start in scene_starts:
        want = start / FPS
        lo = max(0, int((want - 0.5) * RATE))
        win = pcm[lo: lo + RATE]
        loud = np.flatnonzero(win > 0.45 * 32767)  # the beep (0.6 FS) over music ducked or not
        offsets.append(round(((lo + loud[0]) / RATE - want) * FPS, 2) if len(loud) else float("nan"))
    return offsets


def _moviepy_python() -> tuple[str | None, str]:
    try:
        import moviepy  # noqa: F401

        return sys.executable, ""
    except ImportError:
        pass
    for bench in (os.environ.get("MOVIEPY_PYTHON"), ROOT / ".venv-bench" / "bin" / "python"):
        if bench and Path(bench).exists():
            if subprocess.run([str(bench), "-c", "import moviepy"], capture_output=True).returncode == 0:
                return str(bench), ""
    return None, ("moviepy is not installed in this interpreter, in $MOVIEPY_PYTHON nor in .venv-bench "
                  "(pip install -r benchmarks/requirements-bench.txt in .venv-bench)")


def _run_worker(kind: str, spec_path: Path, out: Path, preset: str, python: str = sys.executable,
                matrix: str = "bt709") -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([python, __file__, "--worker", kind, "--spec", str(spec_path), "--out", str(out),
                           "--preset", preset, "--matrix", matrix], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0])
    parser.add_argument("--preset", default=None, help="x264 preset (default: the engine's)")
    parser.add_argument("--matrix", default="bt709", choices=["bt709", "bt601"],
                        help="H.264 colour matrix and tag (both converted to 4:2:0 in the compose thread)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--worker", choices=["engine", "moviepy"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(Path(args.spec).read_text())
        fn = worker_engine if args.worker == "engine" else worker_moviepy
        print(json.dumps(fn(spec, Path(args.out), args.preset, args.matrix)), flush=True)
        return

    from synthesis.compose.compositor import H264_PRESET

    preset = args.preset or H264_PRESET
    cores = len(os.sched_getaffinity(0))
    rtfs = {}
    with tempfile.TemporaryDirectory(prefix="compose-bench-") as tmp:
        folder = Path(tmp)
        for n, seconds in enumerate(args.seconds):
            spec = make_spec(folder, seconds)
            spec_path = folder / f"spec{n}.json"
            spec_path.write_text(json.dumps(spec))
            out = folder / f"engine{n}.mp4"
            got = _run_worker("engine", spec_path, out, preset, matrix=args.matrix)
            rtf = got["wall_s"] / got["video_s"]
            rtfs[seconds] = rtf
            sync = av_sync_frames(out, got["scene_starts"])
            base: dict = {"baseline": "moviepy 2.2.1", "baseline_rtf": None, "baseline_peak_rss_mb": None}
            if n == 0 and not args.no_baseline:
                python, why = _moviepy_python()
                if python:
                    b = _run_worker("moviepy", spec_path, folder / "moviepy.mp4", preset, python)
                    base.update(baseline=f"moviepy {b['version']}", baseline_rtf=round(b["wall_s"] / b["video_s"], 3),
                                baseline_peak_rss_mb=b["peak_rss_mb"],
                                speedup=round(b["wall_s"] / b["video_s"] / rtf, 2))
                else:
                    base["baseline_skipped"] = why
            else:
                base["baseline_skipped"] = "--no-baseline" if args.no_baseline else "baseline only at the first length"
            emit({"figure": "compose_render_rtf", "video_s": round(got["video_s"], 2), "resolution": f"{W}x{H}",
                  "fps": FPS, "cores": cores, "preset": preset, "matrix": args.matrix, "rtf": round(rtf, 3),
                  "goal_rtf": GOAL_RTF,
                  "meets_goal": rtf <= GOAL_RTF, "peak_rss_mb": got["peak_rss_mb"], "peak_rss_goal_mb": 1536,
                  "av_sync_frames": sync, "av_sync_ok": all(abs(s) <= 1 for s in sync),
                  "stages_s": got["stages"], **base},
                 f"compose render {got['video_s']:.0f} s {W}x{H}@{FPS} on {cores} cores ({preset}): RTF {rtf:.3f} "
                 f"(goal <= {GOAL_RTF}), peak RSS {got['peak_rss_mb']:.0f} MB, A/V offsets {sync} frames; "
                 + (f"moviepy RTF {base['baseline_rtf']} ({base['speedup']}x slower)" if base.get("baseline_rtf")
                    else f"baseline skipped: {base.get('baseline_skipped')}"))
            for f in folder.glob("*.mp4"):
                f.unlink()
    if len(rtfs) > 1:
        lo, hi = min(rtfs), max(rtfs)
        ratio = rtfs[hi] / rtfs[lo]
        by_len = {str(int(k)): round(v, 3) for k, v in rtfs.items()}
        emit({"figure": "compose_render_linearity", "rtf_by_seconds": by_len,
              "ratio": round(ratio, 3), "linear": ratio <= 1.15},
             f"compose render linearity: RTF {rtfs[lo]:.3f} at {lo:.0f} s, {rtfs[hi]:.3f} at {hi:.0f} s "
             f"(ratio {ratio:.2f})")


if __name__ == "__main__":
    main()
