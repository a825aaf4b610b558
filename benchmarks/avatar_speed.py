"""Avatar training and rendering speed at 1080p on this machine.

Source: the longest in-sync real clip (../shared/media/video/woman_singing_480.mp4, 33.6 s) scaled to a
1080x1080 picture on a 1920x1080 frame; without the shared media, a generated talking clip at 1920x1080.
Goals (issue 6): training <= 2 minutes per minute of 1080p video on 2 cores; rendering >= 50 fps at 1080p
with a background (2x real time at 25 fps), encoding excluded.

Baselines in the same run: decoding the source once (ffmpeg, the floor of any training pass); reading the
model's idle loop without compositing (the floor of rendering); real time at the model's frame rate.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media" / "video"
TRAIN_GOAL_S_PER_MIN = 120.0
RENDER_GOAL_FPS = 50.0


def make_source(folder: Path, seconds: float | None) -> tuple[Path, str]:
    from synthesis.media import _tools

    clip = MEDIA / "woman_singing_480.mp4"
    out = folder / "source_1080p.mp4"
    if clip.exists():
        length = ["-t", f"{seconds:g}"] if seconds else []
        _tools.run(["ffmpeg", "-v", "error", "-y", "-i", clip, *length, "-vf",
                    "scale=1080:1080:flags=lanczos,pad=1920:1080:420:0:color=0x505050", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-c:a", "copy", out], timeout=600, what="ffmpeg")
        return out, "woman_singing_480.mp4 scaled to 1080p"
    from synthesis.avatar.testmedia import make_talking_clip

    make_talking_clip(out, seconds=seconds or 12.0, size=(1920, 1080))
    return out, "generated talking clip at 1920x1080"


def decode_seconds(path: Path) -> float:
    from synthesis.face.video_io import read_frames, video_format

    fmt = video_format(path)
    started = time.perf_counter()
    for _ in read_frames(path, size=(fmt.width, fmt.height)):
        pass
    return time.perf_counter() - started


def render_fps(model_path: Path, frames: int) -> dict:
    import numpy as np

    from synthesis.avatar.render import PrefetchReader, Renderer, SegmentReader

    with Renderer(model_path) as renderer:
        model = renderer.model
        shapes = renderer.model.atlas.shapes
        track = shapes[np.arange(frames) % len(shapes)]
        reader = PrefetchReader(SegmentReader(model, model.base, loop=True))
        started = time.perf_counter()
        for _ in range(frames):
            reader.read()
        read_fps = frames / (time.perf_counter() - started)
        reader.close()
        gradient = np.linspace(0, 255, model.width, dtype=np.uint8)[None, :, None]
        image = np.ascontiguousarray(np.broadcast_to(gradient, (model.height, model.width, 3)))
        result = {"read_only_fps": read_fps, "fps": model.fps, "size": f"{model.width}x{model.height}"}
        for name, background in (("original", None), ("colour", (40, 160, 40)), ("image", image)):
            started = time.perf_counter()
            count = sum(1 for _ in renderer.render(track, background=background))
            result[f"render_fps_{name}_background"] = count / (time.perf_counter() - started)
    return result


def main() -> int:
    common.exit_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=None, help="use only the first seconds of the source")
    parser.add_argument("--render-frames", type=int, default=600)
    args = parser.parse_args()
    from synthesis.avatar.training import train_avatar
    from synthesis.face.video_io import video_format

    with tempfile.TemporaryDirectory(prefix="avatar-speed-") as tmp:
        folder = Path(tmp)
        source, what = make_source(folder, args.seconds)
        duration = video_format(source).duration_s
        decode = decode_seconds(source)
        started = time.perf_counter()
        trained = train_avatar(source, folder / "train")
        training = time.perf_counter() - started
        render = render_fps(trained.model_path, args.render_frames)
    per_minute = training / (duration / 60.0)
    train = {"figure": "avatar_training_time", "source": what, "video_s": round(duration, 2),
             "training_s": round(training, 1), "training_s_per_video_minute": round(per_minute, 1),
             "decode_only_s": round(decode, 2), "ratio_to_decode": round(training / decode, 1),
             "goal_s_per_video_minute": TRAIN_GOAL_S_PER_MIN, "met": per_minute <= TRAIN_GOAL_S_PER_MIN}
    common.emit(train, f"Training at 1080p ({what}, {duration:.1f} s): {training:.1f} s = {per_minute:.0f} s per "
                       f"minute of video ({training / decode:.1f}x a plain decode of it) vs goal "
                       f"{TRAIN_GOAL_S_PER_MIN:g} s: {'met' if train['met'] else 'NOT met'}")
    with_bg = min(render["render_fps_colour_background"], render["render_fps_image_background"])
    figure = {"figure": "avatar_render_fps", **{k: round(v, 1) if isinstance(v, float) else v
                                                  for k, v in render.items()},
              "realtime_x": round(with_bg / render["fps"], 2), "goal_fps": RENDER_GOAL_FPS,
              "met": with_bg >= RENDER_GOAL_FPS}
    common.emit(figure, f"Rendering {render['size']}: {render['render_fps_original_background']:.0f} fps on the "
                        f"original background, {render['render_fps_colour_background']:.0f} on a colour, "
                        f"{render['render_fps_image_background']:.0f} on an image ({figure['realtime_x']}x real "
                        f"time; reading the idle loop alone: {render['read_only_fps']:.0f} fps) vs goal "
                        f"{RENDER_GOAL_FPS:g} fps: {'met' if figure['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
