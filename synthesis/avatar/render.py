"""The renderer: a mouth-shape track in, photoreal frames out.

Every output frame is a frame of the person's idle loop (or of an inserted action) whose lower face is
replaced by an atlas crop of the person's own mouth in the wanted shape. The crop is chosen for the shape and
the head pose, preferring the next frame of the same source run so the mouth moves like the real one
(Viterbi over the best candidates in batch, a greedy choice with the same costs when streaming); it is
warped onto the base frame by the similarity transform of points that do not move in speech, colour-matched
on the border band and blended through a feathered mask, so no box or seam shows."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis.media import _tools

from .model import AvatarModel, Segment, load_model

SHAPE_WEIGHTS = np.array([3.0, 1.0, 1.0, 1.0])
POSE_WEIGHT = 0.08  # per degree squared
SIDE_SHRINK = 0.82
JUMP_COST = 0.6
HOLD_COST = 0.15
CANDIDATES = 24
ACTION_FADE_FRAMES = 6
Background = tuple[int, int, int] | np.ndarray | None


@dataclass(frozen=True)
class ActionCue:
    name: str
    at_s: float


# --- reading segment videos --------------------------------------------------------------------------------


class SegmentReader:
    """Frames and mattes of one model segment, decoded by ffmpeg processes (looping forever when asked).

    ffmpeg hands over planar YUV (the stored format: no conversion in ffmpeg); OpenCV converts the picture
    and the matte is the luma plane, stretched back from video range."""

    def __init__(self, model: AvatarModel, seg: Segment, *, loop: bool):
        self.seg, self.loop = seg, loop
        self.size = (model.width, model.height)
        self._bytes = model.width * model.height * 3 // 2
        self._video = self._open(model.video_path(seg.video))
        self._alpha = self._open(model.video_path(seg.alpha))
        self.index = 0

    def _open(self, path: Path) -> subprocess.Popen:
        looping = ["-stream_loop", "-1"] if self.loop else []
        argv = [_tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", *looping, "-i", os.fspath(path),
                "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True, bufsize=0)
        _widen_pipe(proc.stdout)
        return proc

    def _read_plane(self, proc: subprocess.Popen) -> np.ndarray | None:
        buf = bytearray(self._bytes)
        view = memoryview(buf)
        got = 0
        while got < self._bytes:
            n = proc.stdout.readinto(view[got:])
            if not n:
                return None
            got += n
        w, h = self.size
        return np.frombuffer(buf, np.uint8).reshape(h * 3 // 2, w)

    def read(self) -> tuple[np.ndarray, np.ndarray, int] | None:
        """(frame, matte, index within the segment), or None at the end of a non-looping segment."""
        import cv2

        yuv = self._read_plane(self._video)
        ayuv = self._read_plane(self._alpha)
        if yuv is None or ayuv is None:
            return None
        index = self.index % self.seg.frames
        self.index += 1
        frame = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
        alpha = cv2.LUT(ayuv[: self.size[1]], _VIDEO_RANGE_TO_FULL)
        return frame, alpha, index

    def close(self) -> None:
        for proc in (self._video, self._alpha):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


class PrefetchReader:
    """Reads a segment a few frames ahead in a thread (decoding waits and colour conversion release the GIL,
    so they overlap the compositing of the current frame)."""

    def __init__(self, reader: SegmentReader, depth: int = 4):
        import queue
        import threading

        self.seg = reader.seg
        self._reader = reader
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="avatar-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import queue

        while not self._stop.is_set():
            item = self._reader.read()
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item is None:
                return

    def read(self):
        return self._queue.get()

    def close(self) -> None:
        import queue

        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._reader.close()
        self._thread.join(timeout=5)


_VIDEO_RANGE_TO_FULL = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(np.uint8)


def _widen_pipe(stream) -> None:
    """Bigger pipe buffers: a 1080p frame is 3 MB, the default 64 KB means dozens of wake-ups per frame."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass


# --- choosing atlas entries --------------------------------------------------------------------------------


class EntryChooser:
    def __init__(self, model: AvatarModel):
        atlas = model.atlas
        self.shapes = atlas.shapes.astype(np.float64)
        spread = self.shapes.std(axis=0) + 1e-6
        self.scale = SHAPE_WEIGHTS / spread
        self.pose = atlas.pose.astype(np.float64)
        self.source = atlas.source_frame.astype(np.int64)
        self.scaled = self.shapes * self.scale
        successor = {int(s): k for k, s in enumerate(self.source)}
        # The entry that follows each entry in its source run (frames may be subsampled: allow a gap of 2).
        self.next_entry = np.array([successor.get(int(s) + 1, successor.get(int(s) + 2, -1)) for s in self.source])

    def unit_costs(self, target: np.ndarray, pose: np.ndarray) -> np.ndarray:
        d = ((self.scaled - target * self.scale) ** 2).sum(axis=1)
        return d + POSE_WEIGHT * ((self.pose - pose) ** 2).sum(axis=1)

    def transition(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """(len(prev), len(cur)) costs of going from entry prev[i] to cur[j]."""
        jump = JUMP_COST + 0.3 * ((self.scaled[prev][:, None, :] - self.scaled[cur][None, :, :]) ** 2).sum(axis=2)
        follows = self.next_entry[prev][:, None] == cur[None, :]
        holds = prev[:, None] == cur[None, :]
        return np.where(follows, 0.0, np.where(holds, HOLD_COST, jump))

    def viterbi(self, track: np.ndarray, poses: np.ndarray) -> np.ndarray:
        if not len(track):
            return np.zeros(0, np.int64)
        m = min(CANDIDATES, len(self.shapes))
        cands, costs = [], []
        for t in range(len(track)):
            unit = self.unit_costs(track[t], poses[t])
            idx = np.argpartition(unit, m - 1)[:m]
            cands.append(idx)
            costs.append(unit[idx])
        total = costs[0].copy()
        back = []
        for t in range(1, len(track)):
            step = total[:, None] + self.transition(cands[t - 1], cands[t])
            best = step.argmin(axis=0)
            back.append(best)
            total = step[best, np.arange(len(best))] + costs[t]
        path = [int(total.argmin())]
        for t in range(len(track) - 1, 0, -1):
            path.append(int(back[t - 1][path[-1]]))
        path.reverse()
        return np.array([cands[t][k] for t, k in enumerate(path)], np.int64)

    def greedy(self, target: np.ndarray, pose: np.ndarray, prev: int | None) -> int:
        unit = self.unit_costs(target, pose)
        if prev is None:
            return int(unit.argmin())
        all_idx = np.arange(len(unit))
        return int((unit + self.transition(np.array([prev]), all_idx)[0]).argmin())


# --- compositing -----------------------------------------------------------------------------------------


class Compositor:
    """Puts atlas entry k onto frame i of a segment."""

    def __init__(self, model: AvatarModel):
        self.model = model
        self.iod = model.interocular
        self.crop_w, self.crop_h = model.crop_size
        self.feather = max(2, int(round(0.07 * self.iod)))
        # Masks are drawn, eroded and blurred at a reduced scale (they are smooth anyway), then resized.
        self.mask_scale = max(1, int(self.iod // 40))

    def region_mask(self, lower_face: np.ndarray) -> np.ndarray:
        """The lower face (cheeks beside the mouth, lips, chin) extended under the chin, drawn at 1/mask_scale of
        crop coordinates (`lower_face` is already divided by it)."""
        import cv2

        k = self.mask_scale
        pts = lower_face.astype(np.float32)
        # Stay inside the face's outline at the sides (its edge against the background must come from the
        # base frame), reach under the chin at the bottom (an opening jaw moves the chin down).
        centre_x = np.median(pts[:, 0])
        pts[:, 0] = centre_x + (pts[:, 0] - centre_x) * SIDE_SHRINK
        low = pts[:, 1] > np.percentile(pts[:, 1], 70)
        below = pts[low] + np.array([0.0, 0.3 * self.iod / k], np.float32)
        hull = cv2.convexHull(np.concatenate([pts, below]).astype(np.int32))
        mask = np.zeros((-(-self.crop_h // k), -(-self.crop_w // k)), np.uint8)
        cv2.fillConvexPoly(mask, hull, 255)
        return mask

    def blend_mask(self, entry_face: np.ndarray, base_face: np.ndarray) -> np.ndarray:
        import cv2

        k = self.mask_scale
        small = cv2.bitwise_or(self.region_mask(entry_face / k), self.region_mask(base_face / k))
        f = max(1, int(round(self.feather / k)))
        small = cv2.erode(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * f + 1, 2 * f + 1)))
        small = cv2.GaussianBlur(small, (0, 0), max(0.8, f * 0.6))
        return cv2.resize(small, (self.crop_w, self.crop_h), interpolation=cv2.INTER_LINEAR)

    def apply(self, frame: np.ndarray, alpha: np.ndarray | None, seg: Segment, index: int, entry: int) -> None:
        """Blend entry `entry` into `frame` (and its matte) in place."""
        import cv2

        atlas = self.model.atlas
        to_crop = seg.to_canonical[index].astype(np.float64)
        to_frame = cv2.invertAffineTransform(to_crop)
        corners = np.array([[0, 0], [self.crop_w, 0], [0, self.crop_h], [self.crop_w, self.crop_h]], np.float64)
        mapped = corners @ to_frame[:, :2].T + to_frame[:, 2]
        h, w = frame.shape[:2]
        x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
        x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return
        shift = to_frame.copy()
        shift[:, 2] -= (x0, y0)
        size = (x1 - x0, y1 - y0)
        mask = self.blend_mask(atlas.lower_face[entry], seg.lower_face[index])
        crop, crop_alpha = atlas.entry(entry)
        patch = cv2.warpAffine(crop, shift, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        weight = cv2.warpAffine(mask, shift, size, flags=cv2.INTER_LINEAR, borderValue=0)
        roi = frame[y0:y1, x0:x1]
        patch = _match_colour(patch, roi, weight)
        wf = weight.astype(np.float32) * (1.0 / 255.0)
        frame[y0:y1, x0:x1] = cv2.blendLinear(patch, roi, wf, 1.0 - wf)
        if alpha is not None:
            a_patch = cv2.warpAffine(crop_alpha, shift, size, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
            a_roi = alpha[y0:y1, x0:x1]
            alpha[y0:y1, x0:x1] = cv2.blendLinear(a_patch, a_roi, wf, 1.0 - wf)


def _match_colour(patch: np.ndarray, roi: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Scale the patch's channels so its feather band has the base frame's mean colour (exposure drift)."""
    import cv2

    band = cv2.inRange(weight, 40, 215)
    if cv2.countNonZero(band) < 20:
        return patch
    want = np.array(cv2.mean(roi, band)[:3])
    have = np.array(cv2.mean(patch, band)[:3]) + 1e-3
    gains = np.clip(want / have, 0.8, 1.25)
    if np.abs(gains - 1).max() < 0.01:
        return patch
    return cv2.transform(patch, np.diag(gains))


COMPOSITE_TILE_OCTAVES = 5  # 32-pixel tiles


def soft_tiles(alpha: np.ndarray) -> Iterator[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the runs of 32-pixel tiles that hold soft matte pixels (0 < alpha < 255)."""
    import cv2

    tiles = cv2.inRange(alpha, 1, 254)
    for _ in range(COMPOSITE_TILE_OCTAVES):
        tiles = cv2.pyrDown(tiles)  # a tile is non-zero when a soft pixel lies in or next to it
    h, w = alpha.shape
    t = 1 << COMPOSITE_TILE_OCTAVES
    for row in range(tiles.shape[0]):
        cols = np.flatnonzero(tiles[row])
        if not len(cols):
            continue
        breaks = np.flatnonzero(np.diff(cols) > 1)
        for c0, c1 in zip(np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]], strict=True):
            yield row * t, min(h, (row + 1) * t), c0 * t, min(w, (c1 + 1) * t)


def despill_edges(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Green-screen spill removed along the matte's soft edges (and the pixel next to them, where video chroma
    subsampling bleeds the screen in), in place; the opaque inside keeps its colour, green clothes included."""
    import cv2

    from synthesis.face.matte import despill

    for y0, y1, x0, x1 in soft_tiles(alpha):
        a = alpha[y0:y1, x0:x1]
        band = cv2.dilate(cv2.inRange(a, 1, 254), np.ones((3, 3), np.uint8))
        frame[y0:y1, x0:x1] = despill(frame[y0:y1, x0:x1], band)
    return frame


def composite(frame: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The person over a background of the frame's size.

    Most of a matte is 0 or 255: those pixels are copied; only tiles holding soft edges (hair, motion blur)
    are blended, which keeps a 1080p composite around a millisecond instead of a full-frame float blend."""
    import cv2

    out = background.copy()
    cv2.copyTo(frame, cv2.threshold(alpha, 127, 255, cv2.THRESH_BINARY)[1], out)
    for y0, y1, x0, x1 in soft_tiles(alpha):
        wf = alpha[y0:y1, x0:x1].astype(np.float32) * (1.0 / 255.0)
        out[y0:y1, x0:x1] = cv2.blendLinear(frame[y0:y1, x0:x1], background[y0:y1, x0:x1], wf, 1.0 - wf)
    return out


def prepare_background(background, size: tuple[int, int]) -> Background:
    import cv2

    if background is None:
        return None
    if isinstance(background, tuple | list):
        return np.full((size[1], size[0], 3), tuple(background)[:3], np.uint8)
    image = np.asarray(background)
    if image.shape[:2] != (size[1], size[0]):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image[:, :, :3])


# --- the renderer ----------------------------------------------------------------------------------------


class Renderer:
    """Frames for a mouth-shape track. Use as a context manager (it owns the model's temporary files when it
    loaded the model itself)."""

    def __init__(self, model: AvatarModel | os.PathLike | str):
        self._owns = not isinstance(model, AvatarModel)
        self.model = load_model(model) if self._owns else model
        self.chooser = EntryChooser(self.model)
        self.compositor = Compositor(self.model)
        self.green_screen = bool(self.model.card.get("green_screen"))

    def close(self) -> None:
        if self._owns:
            self.model.close()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def fps(self) -> int:
        return self.model.fps

    def mouth_model(self):
        from .lipsync import MouthModel

        return MouthModel.load(self.model.mouth_model_path)

    def render(
        self,
        track: np.ndarray,
        *,
        fps: float | None = None,
        background=None,
        rgba: bool = False,
        size: tuple[int, int] | None = None,
        actions: Sequence[ActionCue] = (),
    ) -> Iterator[np.ndarray]:
        """One BGR (or BGRA with `rgba`) frame per row of `track`, at `fps` (the model's own frame rate by
        default; another rate steps through the person's frames faster or slower, the mouth still changes
        every output frame)."""
        plan = self._plan(len(track), actions, fps or self.fps)
        poses = np.array([seg.pose[i] for seg, i, _, _ in plan]).reshape(-1, 3)
        entries = self.chooser.viterbi(np.asarray(track, np.float64), poses)
        yield from self._frames(plan, entries, background=background, rgba=rgba, size=size)

    def _plan(self, n: int, actions: Sequence[ActionCue], fps: float) -> list[tuple[Segment, int, float, int]]:
        """For each output frame: (segment, its frame index, weight of the idle frame blended under it, the
        idle frame index under it)."""
        base = self.model.base
        step = self.fps / float(fps)
        cues = sorted(actions, key=lambda c: c.at_s)
        for cue in cues:
            if cue.name not in self.model.actions:
                raise KeyError(f"this avatar has no action named {cue.name!r}")
        plan: list[tuple[Segment, int, float, int]] = []
        loop_pos = 0.0
        fade = ACTION_FADE_FRAMES
        while len(plan) < n:
            idle = int(loop_pos) % base.frames
            if cues and len(plan) >= int(round(cues[0].at_s * fps)):
                seg = self.model.actions[cues.pop(0).name]
                k = 0.0
                while int(k) < seg.frames and len(plan) < n:
                    i = int(k)
                    under = max(0.0, 1 - (i + 1) / (fade + 1)) if i < fade else 0.0
                    if seg.frames - i <= fade:
                        under = max(under, (fade + 1 - (seg.frames - i)) / (fade + 1))
                    plan.append((seg, i, under, idle))
                    k += step
                continue
            plan.append((base, idle, 0.0, idle))
            loop_pos += step
        return plan

    def _frames(self, plan, entries, *, background, rgba, size) -> Iterator[np.ndarray]:
        import cv2

        model = self.model
        bg = prepare_background(background, (model.width, model.height))
        base = SegmentCursor(PrefetchReader(SegmentReader(model, model.base, loop=True)))
        action: SegmentCursor | None = None
        try:
            for (seg, index, under, idle), entry in zip(plan, entries, strict=True):
                if seg is model.base:
                    frame, alpha = base.at(index)
                else:
                    if action is None or action.seg is not seg or index < action.index:
                        if action is not None:
                            action.close()
                        action = SegmentCursor(SegmentReader(model, seg, loop=False))
                    frame, alpha = action.at(index)
                    if under > 0:
                        idle_frame, idle_alpha = base.at(idle)
                        frame = cv2.addWeighted(frame, 1 - under, idle_frame, under, 0)
                        alpha = cv2.addWeighted(alpha, 1 - under, idle_alpha, under, 0)
                self.compositor.apply(frame, alpha, seg, index, int(entry))
                yield _finish(frame, alpha, bg, rgba, size, self.green_screen)
        finally:
            base.close()
            if action is not None:
                action.close()


class SegmentCursor:
    """Random-ish access to a segment read in order: at(i) reads forward (wrapping for a loop) to frame i and
    returns a copy the caller may change; asking for the same frame again costs no decoding."""

    def __init__(self, reader):
        self.reader = reader
        self.seg = reader.seg
        self.index = -1
        self._frame: np.ndarray | None = None
        self._alpha: np.ndarray | None = None

    def at(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        while self.index != index or self._frame is None:
            got = self.reader.read()
            if got is None:  # a non-looping segment ended early (a short final GOP): hold its last frame
                break
            self._frame, self._alpha, self.index = got
        return self._frame.copy(), self._alpha.copy()

    def close(self) -> None:
        self.reader.close()


def _finish(frame, alpha, bg, rgba: bool, size, green_screen: bool = False) -> np.ndarray:
    import cv2

    if green_screen and (rgba or bg is not None):
        despill_edges(frame, alpha)
    if rgba:
        out = cv2.merge([*cv2.split(frame), alpha])
    elif bg is not None:
        out = composite(frame, alpha, bg)
    else:
        out = frame
    if size and (out.shape[1], out.shape[0]) != tuple(size):
        out = cv2.resize(out, tuple(size), interpolation=cv2.INTER_AREA)
    return out


class StreamRenderer:
    """Frames produced as audio arrives: push PCM (float32 at the mouth model's rate), get the frames whose
    audio is complete (after the mouth model's small look-ahead); flush() at the end of the utterance."""

    def __init__(self, renderer: Renderer, *, background=None, rgba: bool = False, size=None):
        from .lipsync import StreamingMouth

        self.renderer = renderer
        self.mouth = StreamingMouth(renderer.mouth_model(), renderer.fps)
        self.sample_rate = self.mouth.model.sample_rate
        self._bg = prepare_background(background, (renderer.model.width, renderer.model.height))
        self._rgba, self._size = rgba, size
        self._reader = PrefetchReader(SegmentReader(renderer.model, renderer.model.base, loop=True))
        self._prev: int | None = None

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        return self._render(self.mouth.push(pcm))

    def flush(self) -> list[np.ndarray]:
        return self._render(self.mouth.flush())

    def idle(self, count: int = 1) -> list[np.ndarray]:
        """Frames with the mouth at rest (between utterances)."""
        rest = np.percentile(self.renderer.chooser.shapes, 10, axis=0)
        return self._render(np.tile(rest, (count, 1)))

    def _render(self, rows: np.ndarray) -> list[np.ndarray]:
        frames = []
        seg = self.renderer.model.base
        for row in rows:
            frame, alpha, index = self._reader.read()
            entry = self.renderer.chooser.greedy(np.asarray(row, np.float64), seg.pose[index], self._prev)
            self._prev = entry
            self.renderer.compositor.apply(frame, alpha, seg, index, entry)
            frames.append(_finish(frame, alpha, self._bg, self._rgba, self._size, self.renderer.green_screen))
        return frames

    def close(self) -> None:
        self._reader.close()


# --- whole clips -------------------------------------------------------------------------------------------


def speech_for_clip(work: Path, *, text=None, voice_id=None, audio_path=None, converter=None):
    """(pcm float32 16 kHz, wav path, phoneme timings or None) for a text (through the speech engine) or an
    audio file."""
    from synthesis.media.derive import extract_mono_wav
    from synthesis.speech.audio import encode, read_wav, resample

    wav = work / "speech.wav"
    phonemes = None
    if text is not None:
        from synthesis.speech.synth import synthesize

        result = synthesize(text, voice_id=voice_id, converter=converter)
        wav.write_bytes(encode(result.pcm, result.sample_rate, "wav"))
        phonemes = result.phonemes
        pcm, rate = result.pcm, result.sample_rate
    elif audio_path is not None:
        extract_mono_wav(audio_path, wav)
        pcm, rate = read_wav(wav)
    else:
        raise ValueError("give a text or an audio file")
    pcm16k = resample(pcm, rate, 16000) if rate != 16000 else pcm
    return pcm16k.astype(np.float32) / 32768.0 if pcm16k.dtype == np.int16 else pcm16k, wav, phonemes


def render_clip(
    model_path: os.PathLike | str,
    out_path: os.PathLike | str,
    *,
    text: str | None = None,
    voice_id: str | None = None,
    audio_path: os.PathLike | str | None = None,
    phonemes: list | None = None,
    converter=None,
    fps: int | None = None,
    background=None,
    size: tuple[int, int] | None = None,
    actions: Sequence[ActionCue] = (),
    progress: Callable[[int, str], None] | None = None,
) -> Path:
    """An MP4 of the avatar speaking `text` (with `voice_id`) or the speech in `audio_path`, at `fps` (25 or
    30; the model's own rate by default). `phonemes`: the audio's timed phonemes when known (speech the caller
    synthesized itself), so the mouth follows them instead of what speech recognition hears."""
    import tempfile

    from synthesis.face.video_io import VideoWriter

    out = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp, Renderer(model_path) as renderer:
        if progress:
            progress(5, "preparing the speech")
        pcm, wav, spoken = speech_for_clip(Path(tmp), text=text, voice_id=voice_id, audio_path=audio_path,
                                           converter=converter)
        phonemes = spoken or phonemes
        rate = fps or renderer.fps
        # TTS gives the exact phonemes (the phonetic driver skips the ASR); recorded audio goes through the ASR
        track = renderer.mouth_model().predict(pcm, 16000, rate, phonemes=phonemes or None)
        frame_size = size or (renderer.model.width, renderer.model.height)
        total = max(1, len(track))
        with VideoWriter(out, size=frame_size, fps=rate, audio=wav) as writer:
            frames = renderer.render(track, fps=rate, background=background, size=size, actions=actions)
            for i, frame in enumerate(frames):
                writer.write(frame)
                if progress and i % 25 == 0:
                    progress(10 + int(85 * i / total), "rendering")
    if progress:
        progress(100, "done")
    return out
