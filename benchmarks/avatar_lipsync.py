"""Lip-sync accuracy of a trained avatar on held-out real footage.

For each clip of ../shared/media/video: train the avatar on the first 75 % (cut with ffmpeg), render the held-out
audio with it, track the generated frames and compare their mouth with the real held-out frames; references
measured in the same run: the real track against itself shifted by 2 frames, a loudness-driven baseline (ridge
on frame loudness, fit on the same training part), a closed mouth.
`--track-only` scores the mouth model's predicted track directly (no avatar training or rendering).
The mouth model's `predict` blends the acoustic ridge with the phonetic driver (Whisper base words -> espeak
phonemes -> visemes); each clip line also reports the driver, blend weight and A/V lag the model chose on its own
training part (contiguous CV), never on the held-out tail.

Usage: .venv/bin/python benchmarks/avatar_lipsync.py [--track-only] [--clips NAME ...]
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import emit, exit_on_sigterm  # noqa: E402

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media" / "video"
CLIPS = ("woman_singing_480", "man_zh_talking_480", "talking_a_700_vfr", "talking_b_700", "talking_c_524")
TRAIN_FRACTION = 0.75
SR = 16000
GOAL_GAP_TO_SHIFT = 0.1
GOAL_OVER_LOUDNESS = 0.2
GOAL_MATCH = 0.95
MAX_LAG = 6
LIP_POINTS = None  # filled lazily from synthesis.face.landmarks


def ffmpeg() -> str:
    from synthesis.media import _tools

    return _tools.tool_path("ffmpeg")


def cut_video(src: Path, dst: Path, seconds: float) -> None:
    subprocess.run([ffmpeg(), "-nostdin", "-v", "error", "-y", "-i", str(src), "-t", f"{seconds:.3f}", "-c:v",
                    "libx264", "-preset", "veryfast", "-crf", "16", "-c:a", "aac", "-b:a", "192k", str(dst)],
                   check=True, timeout=300)  # fmt: skip


def write_wav(path: Path, pcm: np.ndarray) -> None:
    import soundfile as sf

    sf.write(str(path), pcm, SR, subtype="PCM_16")


def frame_loudness(pcm: np.ndarray, n: int, fps: float) -> np.ndarray:
    from synthesis.avatar.lipsync import _frame_loudness

    return _frame_loudness(pcm, n, fps)


def corr(a, b) -> float:
    from synthesis.avatar.lipsync import _corr

    return _corr(np.asarray(a, float), np.asarray(b, float))


def av_offset(opening: np.ndarray, loud: np.ndarray) -> int:
    """Lag (frames) maximising the correlation of the mouth opening with the loudness envelope; positive: the
    mouth follows the sound."""
    x = opening - opening.mean()
    y = loud - loud.mean()
    best, best_lag = -2.0, 0
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        if lag >= 0:
            a, b = x[lag:], y[: len(y) - lag]
        else:
            a, b = x[:lag], y[-lag:]
        m = min(len(a), len(b))
        if m < 10:
            continue
        r = corr(a[:m], b[:m])
        if r > best:
            best, best_lag = r, lag
    return best_lag


def mouth_points_iod(points: np.ndarray) -> np.ndarray:
    """Lip landmarks (inner + outer) relative to their centre, in inter-ocular units: (N, 40, 2)."""
    from synthesis.face import landmarks as lm

    idx = list(lm.LIPS_OUTER) + list(lm.LIPS_INNER)
    lips = points[:, idx, :2]
    centre = lips.mean(axis=1, keepdims=True)
    return (lips - centre) / lm.interocular(points)[:, None, None]


def score(real_shapes, real_points, gen_shapes, gen_points, loud_all, cut, fps, train_shapes_all) -> dict:
    from synthesis.avatar.lipsync import _loudness_baseline, interp_nan, match_share, shift_reference

    real = interp_nan(real_shapes[cut:, 0])
    n = min(len(real), len(gen_shapes))
    real, gen = real[:n], interp_nan(gen_shapes[:n, 0])
    loud_tail = loud_all[cut:cut + n]
    ok = np.isfinite(train_shapes_all).all(axis=1)
    base = _loudness_baseline(loud_all, np.nan_to_num(train_shapes_all), ok, cut)[:n, 0]
    closed = np.full(n, np.nanmin(real_shapes[:cut, 0]))
    fig = {
        "opening_r": corr(gen, real),
        "shift2_r": shift_reference(real),
        "loudness_r": corr(base, real),
        "closed_r": 0.0,
        "match": match_share(gen, real),
        "shift2_match": match_share(real[2:], real[:-2]),
        "loudness_match": match_share(base, real),
        "closed_match": match_share(closed, real),
        "offset_real": av_offset(real, loud_tail),
        "offset_gen": av_offset(gen, loud_tail),
        "opening_mae_iod": float(np.mean(np.abs(gen - real))),
        "frames": int(n),
    }
    fig["offset_diff"] = fig["offset_gen"] - fig["offset_real"]
    if gen_points is not None and real_points is not None:
        m = min(len(gen_points), len(real_points) - cut)
        g, r = mouth_points_iod(gen_points[:m]), mouth_points_iod(real_points[cut:cut + m])
        d = np.linalg.norm(g - r, axis=-1).mean(axis=1)
        fig["lip_landmark_dist_iod"] = float(np.nanmean(d))
        # the same measure for the real track shifted by 2 frames (reference)
        d2 = np.linalg.norm(r[2:] - r[:-2], axis=-1).mean(axis=1)
        fig["lip_landmark_dist_shift2_iod"] = float(np.nanmean(d2))
    return fig


def run_clip(name: str, track_only: bool, tmp: Path) -> dict:
    import soundfile as sf

    from synthesis.avatar.lipsync import fit_mouth_model
    from synthesis.face.landmarks import mouth_shape, track_video
    from synthesis.face.video_io import output_fps, video_format
    from synthesis.media.derive import extract_mono_wav

    clip = MEDIA / f"{name}.mp4"
    fmt = video_format(clip)
    fps = output_fps(fmt.fps)
    real_track = track_video(clip, fps=fps)
    real_shapes = mouth_shape(real_track.points)
    n = len(real_shapes)
    cut = int(round(n * TRAIN_FRACTION))
    train_s = cut / fps
    wav = extract_mono_wav(clip, tmp / f"{name}.wav", SR)
    pcm, _ = sf.read(str(wav), dtype="float32")
    heldout = pcm[int(round(train_s * SR)):]
    heldout_wav = tmp / f"{name}_heldout.wav"
    write_wav(heldout_wav, heldout)
    loud = frame_loudness(pcm, n, fps)
    train_shapes = real_shapes.copy()
    train_shapes[cut:] = np.nan  # the baseline never sees the tail
    started = time.monotonic()
    gen_points = None
    if track_only:
        model, report = fit_mouth_model(pcm[: int(round(train_s * SR))], SR, real_shapes[:cut], fps)
        train_time = time.monotonic() - started
        gen_shapes = model.predict(heldout, SR, fps)
        validation = report
    else:
        from synthesis.avatar.render import render_clip
        from synthesis.avatar.training import train_avatar

        train_mp4 = tmp / f"{name}_train.mp4"
        cut_video(clip, train_mp4, train_s)
        trained = train_avatar(train_mp4, tmp / f"{name}_avatar")
        train_time = time.monotonic() - started
        out = tmp / f"{name}_gen.mp4"
        render_clip(trained.model_path, out, audio_path=heldout_wav, fps=fps)
        gen_track = track_video(out, fps=fps)
        gen_points = gen_track.points
        gen_shapes = mouth_shape(gen_points)
        validation = trained.card.get("validation", {})
    fig = score(real_shapes, real_track.points, gen_shapes, gen_points, loud, cut, fps, train_shapes)
    fig.update(clip=name, fps=fps, train_s=round(train_s, 2), heldout_s=round((n - cut) / fps, 2),
               train_time_s=round(train_time, 2), mode="track" if track_only else "rendered",
               model_card_opening_r=validation.get("opening_r"), driver=validation.get("driver"),
               blend=validation.get("blend"), lag_frames=validation.get("lag_frames"))  # fmt: skip
    return fig


def rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in d.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track-only", action="store_true", help="score the predicted track, no rendering")
    parser.add_argument("--clips", nargs="*", default=list(CLIPS))
    args = parser.parse_args()
    exit_on_sigterm()
    if not MEDIA.exists():
        print(f"skipped: {MEDIA} is absent", file=sys.stderr)
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    results = []
    with tempfile.TemporaryDirectory(prefix="metastudio-bench-lipsync-") as tmp:
        for name in args.clips:
            fig = rounded(run_clip(name, args.track_only, Path(tmp)))
            results.append(fig)
            emit({"figure": "avatar_lipsync_clip", **fig},
                 f"{name}: train {fig['train_s']:.1f} s, held out {fig['heldout_s']:.1f} s | opening r "
                 f"{fig['opening_r']:.2f} (2-frame shift {fig['shift2_r']:.2f}, loudness {fig['loudness_r']:.2f}, "
                 f"closed 0) | match {100 * fig['match']:.0f}% (shift {100 * fig['shift2_match']:.0f}%, loudness "
                 f"{100 * fig['loudness_match']:.0f}%, closed {100 * fig['closed_match']:.0f}%) | A/V offset "
                 f"{fig['offset_gen']:+d} vs real {fig['offset_real']:+d} frames | "
                 f"training {fig['train_time_s']:.1f} s")
    keys = ("opening_r", "shift2_r", "loudness_r", "match", "shift2_match", "loudness_match", "closed_match")
    avg = {k: float(np.mean([r[k] for r in results])) for k in keys}
    offsets_ok = float(np.mean([abs(r["offset_diff"]) <= 1 for r in results]))
    gap = avg["shift2_r"] - avg["opening_r"]
    over = avg["opening_r"] - avg["loudness_r"]
    summary = rounded({
        "figure": "avatar_lipsync", "mode": "track" if args.track_only else "rendered", "clips": len(results),
        **{f"avg_{k}": v for k, v in avg.items()}, "gap_to_shift2": gap, "over_loudness": over,
        "offset_within_1_share": offsets_ok,
        "train_s": {r["clip"]: r["train_s"] for r in results},
        "goal": {"gap_to_shift2_max": GOAL_GAP_TO_SHIFT, "over_loudness_min": GOAL_OVER_LOUDNESS,
                 "match_min": GOAL_MATCH},
        "met": bool(gap <= GOAL_GAP_TO_SHIFT and over >= GOAL_OVER_LOUDNESS and avg["match"] >= GOAL_MATCH),
    })  # fmt: skip
    emit(summary, f"average over {len(results)} clips: opening r {avg['opening_r']:.2f} vs 2-frame shift "
                  f"{avg['shift2_r']:.2f} (gap {gap:.2f}, goal <= {GOAL_GAP_TO_SHIFT}) and loudness "
                  f"{avg['loudness_r']:.2f} (+{over:.2f}, goal >= {GOAL_OVER_LOUDNESS}); match "
                  f"{100 * avg['match']:.0f}% (goal {100 * GOAL_MATCH:.0f}%); A/V offset within 1 frame on "
                  f"{100 * offsets_ok:.0f}% of clips; met={summary['met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
