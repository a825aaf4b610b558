"""Talking photo (synthesis.photo.talking): lip-sync on the rendered frames and rendering speed at 1080p.

Photo: the public-domain astronaut photo from scikit-image (512x512), scaled to 1080x1080 and padded (mirrored)
to 1920x1080 for the speed figure. Speech: espeak voice "espeak-en-us-f" reading a fixed paragraph.

* Lip-sync: the driving mouth track (TTS phoneme timings -> `photo_mouth_track`) rendered with `TalkingPhoto`
  on the 512x512 photo; FaceMesh reads mouth_opening back from every frame. Figures: Pearson r between the
  measured opening and the driver, and the offset (frames, -3..3) with the best r. Reference in the same run:
  the driver against itself shifted by 2 frames.
* Speed: `render_talking_photo` wall time for the 1920x1080 photo (speech synthesis, FaceMesh, warp, mouth,
  H.264 encoding and audio muxing included) as seconds of video per second of wall time. Baseline in the same
  run: encoding the still photo with the same audio through the same writer. Goal (issue 7): >= 2x real time
  at 25 fps on 2 cores.

Usage: .venv/bin/python benchmarks/talking_photo.py [--text TEXT]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import emit, exit_on_sigterm  # noqa: E402

VOICE = "espeak-en-us-f"
TEXT = ("Good morning. My name is Eileen, and I will show you how a single photo can speak. "
        "Every word you hear moves my jaw and lips, and I still blink and breathe between sentences.")
GOAL_REALTIME_X = 2.0
FPS = 25


def _photo():
    import cv2
    import skimage.data

    return np.ascontiguousarray(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))


def _corr(a, b) -> float:
    if np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _shifted(a, b, k):
    """a[t] against b[t - k]."""
    if k > 0:
        return a[k:], b[:-k]
    if k < 0:
        return a[:k], b[-k:]
    return a, b


def lipsync(text: str) -> dict:
    from synthesis.face import landmarks as lm
    from synthesis.photo.talking import TalkingPhoto, photo_mouth_track
    from synthesis.speech.synth import synthesize

    speech = synthesize(text, voice_id=VOICE)
    pcm = speech.pcm.astype(np.float32) / 32768.0 if speech.pcm.dtype == np.int16 else speech.pcm
    if speech.sample_rate != 16000:
        from synthesis.speech.audio import resample

        pcm = resample(speech.pcm, speech.sample_rate, 16000).astype(np.float32) / 32768.0
    opening, width = photo_mouth_track(pcm, FPS, speech.phonemes)
    tp = TalkingPhoto(_photo())
    mesh = lm.new_face_mesh(static=True)
    measured = np.full(len(opening), np.nan)
    try:
        for i, (o, w) in enumerate(zip(opening, width, strict=True)):
            pts, _ = lm.mesh_points(mesh, tp.frame(float(o), float(w), copy=False))
            if pts is not None:
                measured[i] = float(lm.mouth_opening(pts))
    finally:
        mesh.close()
    ok = ~np.isnan(measured)
    m, d = measured[ok], opening[ok]
    by_lag = {k: _corr(*_shifted(measured, opening, k)) if ok.all() else _corr(m, d) for k in range(-3, 4)}
    best = max(by_lag, key=by_lag.get)
    return {"r": round(_corr(m, d), 3), "best_offset_frames": int(best), "r_at_best": round(by_lag[best], 3),
            "shift2_reference_r": round(_corr(*_shifted(opening, opening, 2)), 3),
            "found_share": round(float(ok.mean()), 3), "frames": int(len(opening)),
            "driver_range": [round(float(opening.min()), 3), round(float(opening.max()), 3)]}


def speed(text: str, folder: Path) -> dict:
    import cv2

    from synthesis.avatar.render import speech_for_clip
    from synthesis.face.video_io import VideoWriter
    from synthesis.media.probe import probe
    from synthesis.photo.talking import render_talking_photo

    big = cv2.resize(_photo(), (1080, 1080), interpolation=cv2.INTER_CUBIC)
    big = cv2.copyMakeBorder(big, 0, 0, 420, 420, cv2.BORDER_REFLECT)
    photo = folder / "photo_1080p.png"
    cv2.imwrite(str(photo), big)

    started = time.perf_counter()
    out = render_talking_photo(photo, folder / "talk.mp4", text=text, voice_id=VOICE, fps=FPS,
                               max_side=1920)
    talk_s = time.perf_counter() - started
    info = probe(out)

    started = time.perf_counter()
    pcm, wav, _ = speech_for_clip(folder, text=text, voice_id=VOICE)
    n = int(round(len(pcm) / 16000 * FPS))
    with VideoWriter(folder / "still.mp4", size=(1920, 1080), fps=FPS, audio=wav) as writer:
        for _ in range(n):
            writer.write(big)
    still_s = time.perf_counter() - started
    video_s = info.duration_s
    return {"video_s": round(video_s, 2), "size": [info.width, info.height], "render_wall_s": round(talk_s, 2),
            "realtime_x": round(video_s / talk_s, 2), "still_encode_wall_s": round(still_s, 2),
            "still_realtime_x": round(video_s / still_s, 2), "ratio_to_still": round(talk_s / still_s, 2),
            "goal_realtime_x": GOAL_REALTIME_X, "met": video_s / talk_s >= GOAL_REALTIME_X}


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=TEXT)
    args = parser.parse_args()
    sync = lipsync(args.text)
    emit({"figure": "talking_photo_lipsync", **sync},
         f"talking photo lip-sync: r {sync['r']} between the mouth FaceMesh reads on the rendered frames and the "
         f"driving phoneme track (best offset {sync['best_offset_frames']:+d} frames, r {sync['r_at_best']}; "
         f"driver vs itself shifted 2 frames: r {sync['shift2_reference_r']}), {sync['frames']} frames")
    with tempfile.TemporaryDirectory(prefix="bench-talking-photo-") as tmp:
        fig = speed(args.text, Path(tmp))
    emit({"figure": "talking_photo_speed", **fig},
         f"talking photo at {fig['size'][0]}x{fig['size'][1]}: {fig['realtime_x']}x real time including speech, "
         f"warp and encoding ({fig['render_wall_s']} s for {fig['video_s']} s of video); baseline encoding the "
         f"still photo: {fig['still_realtime_x']}x; goal >= {GOAL_REALTIME_X}x: "
         f"{'met' if fig['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
