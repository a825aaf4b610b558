"""Video production end to end (issue 8): a 3-scene, text-driven script rendered by the real `videos.render` job.

Script (what a new user builds in the editor): 1920x1080 at 25 fps, 3 TEXT scenes of English speech (voice
`espeak-en-us-f` unless --voice), each with a photo background (IMAGE asset, scikit-image samples scaled to
1920x1080), a title (TEXT layer) and the avatar in a HUMAN box of 720x940 at the right; burned-in subtitles; a
music asset (a sustained chord, 37 s, looped) at volume 30 with ducking. The avatar is the preset photo
`preset-photo-eileen` (PRESET_PHOTO, what a new user gets) and, with `--avatar model` / `both`, a HUMAN_MODEL_2D
trained on the spot from synthesis.avatar.testmedia's talking clip (512x512, 8 s, green screen: ~30 s).
The texts are cut to the wanted length from a speech-rate calibration of the voice; the video lasts as long as
the speech does (the figures use the measured duration).

The job runs in its own process (`metastudio.jobs.run`, exactly as a worker runs it: speech, lip-sync,
compose, encode, storing), against a throwaway data dir (SQLite, local storage).

Figures:
* RTF = wall time of the job / seconds of video. Goal <= 0.5 on 2 cores. The stage split comes from the job's
  own stages (speech, lip-sync, compose+encode, storing) and, inside the compositor, the time spent making the
  avatar's frames, composing, and waiting on the encoder (`render_stages_s`).
* Peak memory: a sampler reads VmRSS of the job process and every descendant (ffmpeg encoder and decoders,
  the avatar process) every 20 ms; the figure is the largest sum. Goal < 1.5 GB.
* RTF growth: `--seconds 60 180 600` renders each length; linearity = RTF(longest) / RTF(shortest).
* A/V sync: the output file is decoded; FaceMesh (tracking mode) reads the mouth opening in the avatar's box on
  every frame, and the output audio's loudness per frame (40 ms RMS, dB) is the speech envelope (the music is a
  steady chord, so it adds a flat floor). Figure: the lag in frames (-6..6, positive = the mouth after the
  sound) with the best Pearson r between opening and loudness; goal within +-1. Also the median offset between
  speech onsets (loudness rising after >= 0.3 s of quiet) and the mouth opening after them.
* --compare-to OTHER.mp4 (e.g. a `--keep` output of another commit): PSNR and SSIM of this run's output against
  it (ffmpeg's psnr/ssim filters), to check a faster pipeline keeps the picture.

Baseline in the same run (first length, photo avatar): the same timeline composed and encoded by moviepy 2.2.1
(benchmarks/requirements-bench.txt, in .venv-bench or $MOVIEPY_PYTHON): the same speech (the same TTS calls,
timed, added to its wall time), the same avatar frames (the same layer source, streamed from a helper process
running the product's code, fitted to the box), backgrounds, title pictures and subtitle pictures, the music at
a fixed volume (moviepy has no ducking), x264 with the engine's preset and 2 threads.

Usage: taskset -c 0,1 .venv/bin/python benchmarks/video_render.py [--seconds 60 [180 600]] [--avatar photo|model|both]
       [--voice ID] [--no-baseline] [--keep DIR] [--compare-to REF.mp4] [--no-sync]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _common as common  # noqa: E402
from benchmarks import upload_throughput as _upload  # noqa: E402

W, H, FPS = 1920, 1080, 25
GOAL_RTF = 0.5
GOAL_RSS_MB = 1536
HUMAN = {"dx": 1140, "dy": 120, "width": 720, "height": 940}
TITLE = {"dx": 80, "dy": 60, "width": 1000, "height": 140, "font_size": 64}
VOICE = "espeak-en-us-f"
PRESET = "preset-photo-eileen"
MUSIC_S = 37.0
BACKGROUNDS = ("coffee", "chelsea", "rocket")
TITLES = ("Quarterly results", "Our new product line", "Thank you for watching")
PARAGRAPH = (
    "Good morning, and welcome to our quarterly review. Over the last three months our team has shipped four "
    "new features, answered more than two thousand questions from customers, and cut the time it takes to "
    "render a video in half. Let me walk you through the numbers. Sales grew by twelve percent, mostly in the "
    "north and the east. Costs stayed flat, because we moved our servers to a cheaper region. Next quarter we "
    "will focus on three things: quality, speed, and the voice of the customer. Thank you for listening, and "
    "please send your questions to the team at any time. "
)
MAX_SYNC_LAG = 6


# --- fixture: tenant, assets, script ------------------------------------------------------------------------------


def _asset(tenant, path: Path, asset_type: str):
    from assets.models import Asset, AssetFile
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=tenant.account, project=tenant.project, name=path.stem, type=asset_type,
                                 state=Asset.State.ACTIVED)
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


def _backgrounds(folder: Path) -> list[Path]:
    import cv2
    import skimage.data

    out = []
    for name in BACKGROUNDS:
        rgb = getattr(skimage.data, name)()
        if rgb.ndim == 2:
            rgb = np.stack([rgb] * 3, axis=-1)
        bgr = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (W, H), interpolation=cv2.INTER_CUBIC)
        path = folder / f"bg_{name}.jpg"
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(path)
    return out


def _music(folder: Path) -> Path:
    """A sustained A-minor chord (steady loudness: a flat floor under the speech envelope), MP3, stereo."""
    wav = folder / "music.wav"
    rate = 44100
    t = np.arange(int(MUSIC_S * rate)) / rate
    mono = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.6, 329.6)) / 3
    fade = np.minimum(1.0, np.minimum(t, MUSIC_S - t) / 0.05)
    pcm = (mono * fade * 0.5 * 32767).astype("<i2")
    import wave

    with wave.open(str(wav), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.repeat(pcm[:, None], 2, axis=1).tobytes())
    mp3 = folder / "music.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)],
                   check=True)
    wav.unlink()
    return mp3


def _chars_per_second(account, voice: str) -> float:
    from synthesis.speech import synth
    from synthesis.speech.types import SynthesisOptions
    from voices import speech

    base = speech.resolve_voice(account, voice).base_voice_id
    result = synth.synthesize(PARAGRAPH, voice_id=base, options=SynthesisOptions(sample_rate=24000))
    return len(PARAGRAPH) / (len(result.pcm) / result.sample_rate)


def _text(chars: int, offset: int) -> str:
    """`chars` characters of the paragraph read on from sentence `offset`, cut at a word and ended with a full
    stop (so each scene lasts about as long as wanted)."""
    sentences = [s.strip() + "." for s in PARAGRAPH.split(".") if s.strip()]
    words, k = [], offset
    while sum(len(w) + 1 for w in words) < chars:
        words += sentences[k % len(sentences)].split()
        k += 1
    out, size = [], 0
    for word in words:
        if size + len(word) > chars and out:
            break
        out.append(word)
        size += len(word) + 1
    return " ".join(out).rstrip(",.:") + "."


def _model(folder: Path) -> Path:
    from synthesis.avatar import testmedia
    from synthesis.avatar.training import train_avatar

    clip = folder / "model_clip.mp4"
    testmedia.make_talking_clip(clip, seconds=8, size=(512, 512), green_screen=True)
    return Path(train_avatar(clip, folder / "model_train").model_path)


class Fixture:
    """The tenant, its assets and the script bodies (in the main process)."""

    def __init__(self, folder: Path, voice: str, avatars: list[str]):
        from assets.models import Asset
        from tests.factories import make_tenant

        self.tenant = make_tenant(name="bench-video-render")
        self.voice = voice
        self.backgrounds = [_asset(self.tenant, p, Asset.Type.IMAGE) for p in _backgrounds(folder)]
        self.music = _asset(self.tenant, _music(folder), Asset.Type.MUSIC)
        self.cps = _chars_per_second(self.tenant.account, voice)
        import cv2

        from videos import presets

        self.models = {"photo": PRESET}
        photo = cv2.imread(str(presets.preset_photo_path(presets.get_preset(PRESET))))
        self.aspects = {"photo": photo.shape[1] / photo.shape[0]}
        self.model_train_s = None
        if "model" in avatars:
            from synthesis.avatar.model import load_model

            started = time.perf_counter()
            path = _model(folder)
            self.models["model"] = str(_asset(self.tenant, path, Asset.Type.HUMAN_MODEL_2D).pk)
            self.model_train_s = round(time.perf_counter() - started, 1)
            model = load_model(path)
            self.aspects["model"] = model.width / model.height
            model.close()

    def body(self, seconds: float, avatar: str) -> dict:
        chars = int(seconds / 3 * self.cps)
        human = {"layer_type": "HUMAN", "position": {"dx": HUMAN["dx"], "dy": HUMAN["dy"], "layer_index": 2},
                 "size": {"width": HUMAN["width"], "height": HUMAN["height"]}}
        scenes = []
        for k in range(3):
            title = {"layer_type": "TEXT", "position": {"dx": TITLE["dx"], "dy": TITLE["dy"], "layer_index": 3},
                     "size": {"width": TITLE["width"], "height": TITLE["height"]},
                     "text_config": {"text": TITLES[k], "font_size": TITLE["font_size"], "font_color": "#FFFFFF"}}
            scenes.append({"script_type": "TEXT", "text_config": {"text": _text(chars, 3 * k)},
                           "background_config": [{"background_type": "IMAGE",
                                                  "background_asset_id": str(self.backgrounds[k].pk)}],
                           "layer_config": [human, title]})
        return {"script_name": f"bench {seconds:g}s {avatar}", "model_asset_id": self.models[avatar],
                "voice_config": {"voice_asset_id": self.voice},
                "video_config": {"width": W, "height": H, "frame_rate": FPS, "is_subtitle_enable": True},
                "shoot_scripts": scenes,
                "background_music_config": {"music_asset_id": str(self.music.pk), "volume": 30, "ducking": True}}

    def submit(self, seconds: float, avatar: str):
        from tenancy.audit import Actor
        from videos import rendering, scripts

        actor = Actor(user=self.tenant.owner, account=self.tenant.account, via="api")
        script = scripts.create_script(actor, self.tenant.account, self.body(seconds, avatar),
                                       project=self.tenant.project)
        return rendering.submit_render(actor, script)


def _human_box(avatar_aspect: float) -> tuple[int, int, int, int]:
    """The avatar's visible rectangle on the canvas (fitted "contain" into the HUMAN box, centred)."""
    from synthesis.compose.compositor import fitted_size

    bw, bh = fitted_size((int(1000 * avatar_aspect), 1000), (HUMAN["width"], HUMAN["height"]))
    return HUMAN["dx"] + (HUMAN["width"] - bw) // 2, HUMAN["dy"] + (HUMAN["height"] - bh) // 2, bw, bh


# --- the job, in its own process --------------------------------------------------------------------------------


def worker_engine(job_id: str) -> dict:
    """Run the render job as a worker does; time its stages and the compositor's."""
    common.setup_django({})
    import synthesis.compose.compositor as compositor
    from metastudio import jobs
    from metastudio.jobs import Job, JobRun

    marks: list[tuple[str, float]] = []
    original_progress = JobRun.progress

    def progress(self, percent, stage):
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter()))
        return original_progress(self, percent, stage)

    JobRun.progress = progress
    render_stages: dict = {}
    original_render = compositor.render

    def render(*args, **kwargs):
        result = original_render(*args, **kwargs)
        render_stages.update(result.seconds_by_stage)
        return result

    compositor.render = render
    started = time.perf_counter()
    outcome = jobs.run(job_id)
    wall = time.perf_counter() - started
    marks.append(("end", time.perf_counter()))
    stages: dict[str, float] = {}
    for (name, t0), (_, t1) in zip(marks, marks[1:], strict=False):
        stages[name] = round(stages.get(name, 0.0) + t1 - t0, 2)
    job = Job.objects.get(pk=job_id)
    path = None
    if outcome == "done":
        from assets.models import Asset, AssetFile

        video = Asset.objects.get(pk=job.result["asset_id"])
        path = video.files.get(category=AssetFile.Category.MAIN).stored.path
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"outcome": outcome, "error": job.error_msg, "wall_s": wall, "result": job.result, "path": path,
            "stages_s": stages, "render_stages_s": {k: round(v, 2) for k, v in render_stages.items()},
            "self_maxrss_mb": round(own, 1), "largest_child_maxrss_mb": round(child, 1)}


def _run_worker(what: str, argv: list[str], env: dict, timeout: int) -> tuple[dict, RssSampler]:
    """Run a `--worker` of this script with its process tree's memory sampled: (its last JSON line, the
    sampler)."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        sampler.stop_event.set()
        sampler.join()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{what} worker failed:\n{err[-4000:]}")
    got = json.loads(out.strip().splitlines()[-1])
    got["tree_peak_rss_mb"] = round(sampler.max_total_kb / 1024, 1)
    return got, sampler


def run_engine(env: dict, job_id: str) -> dict:
    got, sampler = _run_worker("engine", [sys.executable, __file__, "--worker", "engine", "--job", job_id], env, 3600)
    got["tree_peak_pss_mb"] = round(sampler.max_total_pss_kb / 1024, 1)
    got["peak_rss_by_process_mb"] = _by_process(sampler)
    return got


def _by_process(sampler: RssSampler) -> dict[str, float]:
    """Each sampled process's peak VmRSS (MB), the largest first, named by role."""
    named: dict[str, float] = {}
    for pid, kb in sorted(sampler.max_per_pid.items(), key=lambda item: -item[1]):
        name = sampler.names.get(pid, str(pid))
        key, n = name, 2
        while key in named:
            key, n = f"{name} #{n}", n + 1
        named[key] = round(kb / 1024, 1)
    return dict(list(named.items())[:8])


class RssSampler(threading.Thread):
    """Every 20 ms: VmRSS of the process tree under `root_pid` (the job process, its ffmpeg encoder and decoders,
    any helper), summed; the largest sum and each process's peak are kept. A child between fork and exec (still
    a copy of its parent, sharing its pages) is left out. `max_total_pss_kb` is the same sum of PSS (shared
    pages, e.g. the libraries of several ffmpeg processes, counted once), sampled every 100 ms."""

    def __init__(self, root_pid: int):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.stop_event = threading.Event()
        self.max_per_pid: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.max_total_kb = 0
        self.max_total_pss_kb = 0
        self._root_cmd = _upload.cmdline(root_pid)

    def sample(self, pss: bool) -> None:
        total = total_pss = 0
        for pid in _upload.descendants(self.root_pid):
            if pid not in self.names:
                cmd = _upload.cmdline(pid)
                if pid != self.root_pid and cmd == self._root_cmd:
                    continue  # forked, not yet exec'd
                self.names[pid] = "job process" if pid == self.root_pid else _role(cmd)
            rss = _upload.status_kb(pid, "VmRSS")
            total += rss
            self.max_per_pid[pid] = max(self.max_per_pid.get(pid, 0), rss)
            if pss:
                total_pss += _pss_kb(pid)
        self.max_total_kb = max(self.max_total_kb, total)
        self.max_total_pss_kb = max(self.max_total_pss_kb, total_pss)

    def run(self) -> None:
        n = 0
        while not self.stop_event.is_set():
            self.sample(pss=n % 5 == 0)
            n += 1
            self.stop_event.wait(0.02)


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _role(cmdline: str) -> str:
    argv = cmdline.split(" ")
    if argv[0].endswith("ffmpeg"):
        return "ffmpeg encoder" if "libx264" in argv or "libvpx-vp9" in argv or "prores_ks" in argv \
            else "ffmpeg decoder"
    return " ".join(a.rsplit("/", 1)[-1] for a in argv[:2])


# --- the moviepy baseline -------------------------------------------------------------------------------------------


class Spoken:
    """One scene's speech as the job makes it: the WAV, its timed phonemes, its length (decoded, as composed)."""

    def __init__(self, audio: Path, phonemes: list, seconds: float):
        self.audio, self.phonemes, self.seconds = audio, phonemes, seconds


def scene_speech(fixture: Fixture, job, folder: Path) -> tuple[list[Spoken], float]:
    """Each scene's speech made again by the same TTS calls as the job (avatars.tasks.synthesize_speech with the
    script's voice at 24 kHz), and the seconds that took."""
    from avatars.tasks import synthesize_speech
    from synthesis.compose.audio import SAMPLE_RATE, decode_mono
    from videos import scripts
    from voices import speech as voices

    snapshot = job.params["snapshot"]
    account = fixture.tenant.account
    started = time.perf_counter()
    out = []
    for n, scene in enumerate(snapshot["shoot_scripts"]):
        tts = voices.clean_tts_request(account, {**snapshot["voice_config"], "text": scene["text_config"]["text"],
                                                 "sample_rate": 24000}, max_chars=scripts.MAX_SSML_CHARS)
        target = folder / f"sp{n}.wav"
        chunks = synthesize_speech(account, tts, target)
        seconds = len(decode_mono(target, SAMPLE_RATE)) / SAMPLE_RATE
        out.append(Spoken(target, [p for chunk in chunks for p in chunk.phonemes], seconds))
    return out, time.perf_counter() - started


def prepare_baseline(fixture: Fixture, job, result: dict, folder: Path, speech: list, tts_s: float) -> dict:
    """The engine's inputs for the moviepy worker: speech (timed), pictures, subtitle strips, avatar sources."""
    import cv2

    from assets.models import AssetFile
    from synthesis.compose.compositor import text_picture
    from synthesis.compose.subtitles import Word
    from synthesis.compose.timeline import TextLayer
    from videos import presets, rendering

    snapshot = job.params["snapshot"]
    track = rendering._subtitles(snapshot, [Word(*w) for w in result.get("subtitle_words") or []])
    subs = []
    for i, cue in enumerate(track.cues):
        rgba = track.overlay(i)
        x, y, w, h = cv2.boundingRect(np.ascontiguousarray(rgba[:, :, 3]))
        path = folder / f"cue{i:04d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgba[y:y + h, x:x + w]), cv2.COLOR_RGBA2BGRA))
        subs.append({"path": str(path), "start": cue.start, "end": cue.end, "x": x, "y": y})
    scenes, start = [], 0
    for n, (scene, spoken) in enumerate(zip(snapshot["shoot_scripts"], speech, strict=True)):
        count = max(1, int(np.ceil(spoken.seconds * FPS - 1e-6)))
        title = next(item for item in scene["layer_config"] if item["layer_type"] == "TEXT")
        layer = TextLayer(title["position"]["dx"], title["position"]["dy"], title["size"]["width"],
                          title["size"]["height"], text=title["text_config"]["text"],
                          font_size=title["text_config"]["font_size"], colour=(255, 255, 255))
        title_png = folder / f"title{n}.png"
        cv2.imwrite(str(title_png), text_picture(layer))
        phonemes = folder / f"ph{n}.json"
        phonemes.write_text(json.dumps([[p.phoneme, p.start, p.end] for p in spoken.phonemes or []]))
        bg = next(a for a in fixture.backgrounds if str(a.pk) == scene["background_config"][0]["background_asset_id"])
        scenes.append({"background": bg.files.get(category=AssetFile.Category.MAIN).stored.path,
                       "speech": str(spoken.audio), "frames": count, "start": start, "title_png": str(title_png),
                       "title_xy": [layer.x, layer.y], "phonemes": str(phonemes), "seed": n})
        start += count
    photo = presets.preset_photo_path(presets.get_preset(PRESET))
    music = fixture.music.files.get(category=AssetFile.Category.MAIN).stored.path
    return {"tts_s": tts_s, "scenes": scenes, "subtitles": subs, "music": music, "music_volume": 0.3,
            "photo": str(photo), "box": [HUMAN["dx"], HUMAN["dy"], HUMAN["width"], HUMAN["height"]],
            "frames_python": sys.executable, "script": str(Path(__file__).resolve())}


def avatar_frames(spec_path: str, scene: int) -> None:
    """Helper process of the baseline: the product's photo layer source for one scene, fitted into the box, as
    raw BGRA frames on stdout."""
    import cv2

    from synthesis.compose.compositor import fit_into
    from synthesis.compose.talking_layer import photo_layer
    from synthesis.speech.types import PhonemeTiming

    spec = json.loads(Path(spec_path).read_text())
    s = spec["scenes"][scene]
    phonemes = [PhonemeTiming(*p) for p in json.loads(Path(s["phonemes"]).read_text())]
    x, y, w, h = spec["box"]
    layer = photo_layer(spec["photo"], s["speech"], phonemes or None, (x, y, w, h), fps=FPS, seed=s["seed"])
    out = sys.stdout.buffer
    for frame in layer.source(FPS, s["frames"]):
        image, _, _ = fit_into(np.asarray(frame, np.uint8), (0, 0, w, h))
        if image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        canvas = np.zeros((h, w, 4), np.uint8)
        oy, ox = (h - image.shape[0]) // 2, (w - image.shape[1]) // 2
        canvas[oy:oy + image.shape[0], ox:ox + image.shape[1]] = image
        out.write(canvas.tobytes())
    out.flush()


def worker_moviepy(spec_path: str, out_path: str, preset: str) -> dict:
    """In the moviepy interpreter: compose and encode the prepared timeline."""
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        VideoClip,
        afx,
        concatenate_audioclips,
    )

    spec = json.loads(Path(spec_path).read_text())
    x, y, w, h = spec["box"]
    started = time.perf_counter()
    layers, sounds, procs = [], [], []

    class Stream:
        """Frames of one scene's avatar, read in order from the helper process (moviepy asks by time)."""

        def __init__(self, k: int, count: int):
            argv = [spec["frames_python"], spec["script"], "--avatar-frames", spec_path, "--scene", str(k)]
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=str(Path(spec["script"]).parents[1]))
            procs.append(self.proc)
            self.count, self.index, self.frame = count, -1, np.zeros((h, w, 4), np.uint8)

        def at(self, t: float) -> np.ndarray:
            want = min(self.count - 1, int(round(t * FPS)))
            while self.index < want:
                raw = self.proc.stdout.read(w * h * 4)
                if len(raw) < w * h * 4:
                    break
                self.frame = np.frombuffer(raw, np.uint8).reshape(h, w, 4)
                self.index += 1
            return self.frame

    total = 0.0
    for k, s in enumerate(spec["scenes"]):
        at, d = s["start"] / FPS, s["frames"] / FPS
        total = at + d
        stream = Stream(k, s["frames"])
        layers.append(ImageClip(s["background"]).with_start(at).with_duration(d))
        avatar = VideoClip(lambda t, st=stream: st.at(t)[:, :, 2::-1], duration=d)
        mask = VideoClip(lambda t, st=stream: st.at(t)[:, :, 3] / 255.0, is_mask=True, duration=d)
        layers.append(avatar.with_mask(mask).with_start(at).with_position((x, y)))
        layers.append(ImageClip(s["title_png"]).with_start(at).with_duration(d).with_position(tuple(s["title_xy"])))
        sounds.append(AudioFileClip(s["speech"]).with_start(at))
    for sub in spec["subtitles"]:
        if sub["start"] < total:
            layers.append(ImageClip(sub["path"]).with_start(sub["start"])
                          .with_duration(min(sub["end"], total) - sub["start"]).with_position((sub["x"], sub["y"])))
    music = AudioFileClip(spec["music"])
    loops = concatenate_audioclips([music] * int(np.ceil(total / music.duration)))
    sounds.append(loops.with_duration(total).with_effects([afx.MultiplyVolume(spec["music_volume"])]))
    video = CompositeVideoClip(layers, size=(W, H)).with_duration(total).with_audio(CompositeAudioClip(sounds))
    video.write_videofile(out_path, fps=FPS, codec="libx264", preset=preset, audio_codec="aac", threads=2,
                          logger=None)
    wall = time.perf_counter() - started
    for proc in procs:
        proc.kill()
        proc.wait()
    import moviepy

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall_s": wall, "video_s": total, "version": getattr(moviepy, "__version__", "?"),
            "self_maxrss_mb": round(own, 1), "largest_child_maxrss_mb": round(child, 1)}


def _moviepy_python() -> tuple[str | None, str]:
    for candidate in (os.environ.get("MOVIEPY_PYTHON"), ROOT / ".venv-bench" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            if subprocess.run([str(candidate), "-c", "import moviepy"], capture_output=True).returncode == 0:
                return str(candidate), ""
    return None, ("moviepy is not installed in $MOVIEPY_PYTHON nor in .venv-bench "
                  "(.venv-bench/bin/pip install -r benchmarks/requirements-bench.txt)")


def run_moviepy(python: str, spec_path: Path, out: Path, preset: str) -> dict:
    argv = [python, __file__, "--worker", "moviepy", "--spec", str(spec_path), "--out", str(out), "--preset", preset]
    return _run_worker("moviepy", argv, dict(os.environ, PYTHONPATH=""), 7200)[0]


# --- checks on the output ---------------------------------------------------------------------------------------------


def _loudness(path: Path, frames: int) -> np.ndarray:
    """dB RMS of the file's audio over each video frame's 40 ms."""
    rate = 16000
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate), "-f",
                          "s16le", "-"], capture_output=True, check=True).stdout
    pcm = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
    hop = rate // FPS
    n = min(frames, len(pcm) // hop)
    rms = np.sqrt(np.mean(pcm[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-10)
    return 20 * np.log10(rms)


def _mouth_track(path: Path, box: tuple[int, int, int, int]) -> np.ndarray:
    """Mouth opening (FaceMesh, tracking mode) per frame in the avatar's box, lost frames interpolated."""
    from synthesis.face import landmarks as lm

    x, y, w, h = box
    scale = min(1.0, 512 / max(w, h))
    sw, sh = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(path), "-an", "-vf",
                             f"crop={w}:{h}:{x}:{y},scale={sw}:{sh}", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"],
                            stdout=subprocess.PIPE)
    mesh = lm.new_face_mesh(static=False)
    values = []
    try:
        while True:
            raw = proc.stdout.read(sw * sh * 3)
            if len(raw) < sw * sh * 3:
                break
            points, _ = lm.mesh_points(mesh, np.frombuffer(raw, np.uint8).reshape(sh, sw, 3))
            values.append(float(lm.mouth_opening(points)) if points is not None else np.nan)
    finally:
        mesh.close()
        proc.stdout.close()
        proc.wait()
    track = np.array(values, np.float64)
    return lm.interpolate_lost(track) if np.isnan(track).any() else track


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _lagged(mouth: np.ndarray, sound: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """mouth[t] against sound[t - k] (k > 0: the mouth follows the sound)."""
    if k > 0:
        return mouth[k:], sound[:-k]
    if k < 0:
        return mouth[:k], sound[-k:]
    return mouth, sound


def _peak(by_lag: dict[int, float], best: int) -> float:
    """The lag of the correlation peak between whole frames (a parabola through the best lag and its
    neighbours)."""
    if best - 1 not in by_lag or best + 1 not in by_lag:
        return float(best)
    a, b, c = by_lag[best - 1], by_lag[best], by_lag[best + 1]
    bend = a - 2 * b + c
    return round(best + (0.5 * (a - c) / bend if bend < 0 else 0.0), 2)


def av_sync(path: Path, box: tuple[int, int, int, int]) -> dict:
    mouth = _mouth_track(path, box)
    loud = _loudness(path, len(mouth))
    n = min(len(mouth), len(loud))
    mouth, loud = mouth[:n], loud[:n]
    by_lag = {k: _corr(*_lagged(mouth, loud, k)) for k in range(-MAX_SYNC_LAG, MAX_SYNC_LAG + 1)}
    best = max(by_lag, key=by_lag.get)
    # onsets: loudness crossing the mid level after >= 0.3 s below it; the mouth's first frame above its
    # mid level within 6 frames either side
    lo, hi = np.percentile(loud, 10), np.percentile(loud, 90)
    loud_on = loud > (lo + hi) / 2
    m_lo, m_hi = np.percentile(mouth, 10), np.percentile(mouth, 90)
    mouth_on = mouth > m_lo + 0.3 * (m_hi - m_lo)
    quiet = int(0.3 * FPS)
    offsets = []
    for t in range(quiet, n):
        if loud_on[t] and not loud_on[t - quiet:t].any():
            window = np.flatnonzero(mouth_on[max(0, t - MAX_SYNC_LAG): t + MAX_SYNC_LAG + 1])
            if len(window):
                offsets.append(int(window[0] + max(0, t - MAX_SYNC_LAG) - t))
    return {"best_lag_frames": int(best), "r_at_best": round(by_lag[best], 3), "r_at_0": round(by_lag[0], 3),
            "lag_frames_interpolated": _peak(by_lag, best),
            "r_by_lag": {str(k): round(v, 3) for k, v in by_lag.items()},
            "onsets": len(offsets), "median_onset_offset_frames": float(np.median(offsets)) if offsets else None,
            "ok": abs(best) <= 1}


def driver_lag(speech: list, photo: bool) -> dict | None:
    """The same lag measure on the talking photo's driving mouth track (what the renderer was asked to show)
    against the loudness of the speech files themselves: the lag the mouth model is designed with. The output's
    lag minus this one is what composing, encoding and muxing added."""
    if not photo:
        return None
    from synthesis.compose.talking_layer import _speech_pcm
    from synthesis.photo.talking import photo_mouth_track

    mouths, louds = [], []
    for spoken in speech:
        opening, _ = photo_mouth_track(_speech_pcm(spoken.audio), FPS, spoken.phonemes or None)
        count = max(1, int(np.ceil(spoken.seconds * FPS - 1e-6)))
        loud = _loudness(Path(spoken.audio), count)
        n = min(count, len(opening), len(loud))
        mouths.append(opening[:n])
        louds.append(loud[:n])
    mouth, loud = np.concatenate(mouths), np.concatenate(louds)
    by_lag = {k: _corr(*_lagged(mouth, loud, k)) for k in range(-MAX_SYNC_LAG, MAX_SYNC_LAG + 1)}
    best = max(by_lag, key=by_lag.get)
    return {"best_lag_frames": int(best), "r_at_best": round(by_lag[best], 3),
            "lag_frames_interpolated": _peak(by_lag, best)}


def quality(path: Path, reference: Path) -> dict:
    """PSNR (average, dB) and SSIM (all) of `path` against `reference`, frame by frame."""
    proc = subprocess.run(["ffmpeg", "-v", "info", "-nostats", "-i", str(path), "-i", str(reference), "-lavfi",
                           "[0:v]split[a0][a1];[1:v]split[b0][b1];[a0][b0]psnr;[a1][b1]ssim", "-f", "null", "-"],
                          capture_output=True, text=True)
    psnr = ssim = None
    for line in proc.stderr.splitlines():
        if "PSNR" in line and "average:" in line:
            psnr = line.split("average:")[1].split()[0]
        if "SSIM" in line and "All:" in line:
            ssim = line.split("All:")[1].split()[0]
    return {"psnr_db": float(psnr) if psnr not in (None, "inf") else psnr, "ssim": float(ssim) if ssim else None,
            "reference": str(reference)}


# --- main ----------------------------------------------------------------------------------------------------------


def main() -> int:
    common.exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0])
    parser.add_argument("--avatar", choices=["photo", "model", "both"], default="photo")
    parser.add_argument("--voice", default=VOICE)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-sync", action="store_true", help="skip the A/V sync measurement")
    parser.add_argument("--keep", help="copy each output video into this folder")
    parser.add_argument("--compare-to", help="PSNR/SSIM of the first output against this video")
    parser.add_argument("--worker", choices=["engine", "moviepy"], help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    parser.add_argument("--avatar-frames", help=argparse.SUPPRESS)
    parser.add_argument("--scene", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "engine":
        print(json.dumps(worker_engine(args.job)), flush=True)
        return 0
    if args.worker == "moviepy":
        print(json.dumps(worker_moviepy(args.spec, args.out, args.preset)), flush=True)
        return 0
    if args.avatar_frames:
        avatar_frames(args.avatar_frames, args.scene)
        return 0

    avatars = ["photo", "model"] if args.avatar == "both" else [args.avatar]
    cores = len(os.sched_getaffinity(0))
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    rows = []
    with common.temp_data_dir("video-render") as data_dir:
        env = common.base_env(data_dir)
        common.setup_django(env)
        common.migrate()
        from synthesis.compose.compositor import H264_PRESET

        folder = data_dir / "fixture"
        folder.mkdir()
        fixture = Fixture(folder, args.voice, avatars)
        rtfs: dict[str, dict[float, float]] = {}
        peaks: dict[str, dict[float, float]] = {}
        for avatar in avatars:
            for n, seconds in enumerate(args.seconds):
                job = fixture.submit(seconds, avatar)
                got = run_engine(env, str(job.pk))
                if got["outcome"] != "done":
                    raise RuntimeError(f"render failed: {got['error']}")
                video_s = float(got["result"]["duration"])
                rtf = got["wall_s"] / video_s
                rtfs.setdefault(avatar, {})[seconds] = rtf
                peaks.setdefault(avatar, {})[seconds] = got["tree_peak_rss_mb"]
                path = Path(got["path"])
                row = {"figure": "video_render_rtf", "avatar": avatar, "voice": args.voice, "video_s": video_s,
                       "resolution": f"{W}x{H}", "fps": FPS, "cores": cores, "preset": H264_PRESET,
                       "wall_s": round(got["wall_s"], 2), "rtf": round(rtf, 3), "goal_rtf": GOAL_RTF,
                       "met_rtf": rtf <= GOAL_RTF, "tree_peak_rss_mb": got["tree_peak_rss_mb"],
                       "peak_rss_goal_mb": GOAL_RSS_MB, "met_rss": got["tree_peak_rss_mb"] < GOAL_RSS_MB,
                       "tree_peak_pss_mb": got["tree_peak_pss_mb"],
                       "peak_rss_by_process_mb": got["peak_rss_by_process_mb"], "job_stages_s": got["stages_s"],
                       "render_stages_s": got["render_stages_s"],
                       "self_maxrss_mb": got["self_maxrss_mb"],
                       "largest_child_maxrss_mb": got["largest_child_maxrss_mb"],
                       "bitrate_kbps": round(path.stat().st_size * 8 / 1000 / video_s),
                       "load_average_1m": round(os.getloadavg()[0], 2)}
                if avatar == "model":
                    row["model_train_s"] = fixture.model_train_s
                if keep:
                    shutil.copy(path, keep / f"{avatar}_{int(seconds)}s.mp4")
                speech = tts_s = None
                if n == 0 and (not args.no_sync or (avatar == "photo" and not args.no_baseline)):
                    work = data_dir / f"speech-{avatar}"
                    work.mkdir(exist_ok=True)
                    speech, tts_s = scene_speech(fixture, job, work)
                if not args.no_sync and n == 0:
                    row["av_sync"] = av_sync(path, _human_box(fixture.aspects[avatar]))
                    row["av_sync"]["driver"] = driver_lag(speech, avatar == "photo")
                if args.compare_to and n == 0 and avatar == avatars[0]:
                    row["quality_vs_reference"] = quality(path, Path(args.compare_to))
                if n == 0 and avatar == "photo" and not args.no_baseline:
                    row.update(_baseline(fixture, job, got["result"], data_dir / "speech-photo", speech, tts_s, rtf,
                                         keep))
                rows.append(row)
                _print_row(row)
        for avatar, by_len in rtfs.items():
            if len(by_len) > 1:
                lo, hi = min(by_len), max(by_len)
                ratio = by_len[hi] / by_len[lo]
                common.emit({"figure": "video_render_linearity", "avatar": avatar,
                             "rtf_by_seconds": {str(int(k)): round(v, 3) for k, v in by_len.items()},
                             "peak_rss_mb_by_seconds": {str(int(k)): v for k, v in peaks[avatar].items()},
                             "ratio": round(ratio, 3), "linear": ratio <= 1.15},
                            f"linearity ({avatar}): RTF "
                            + ", ".join(f"{v:.3f} at {k:.0f} s" for k, v in by_len.items())
                            + f" (longest / shortest {ratio:.2f}); peak RSS "
                            + ", ".join(f"{v:.0f} MB" for v in peaks[avatar].values()))
    _summary(rows)
    return 0


def _baseline(fixture: Fixture, job, result: dict, folder: Path, speech: list, tts_s: float, rtf: float,
              keep: Path | None) -> dict:
    from synthesis.compose.compositor import H264_PRESET

    python, why = _moviepy_python()
    if not python:
        return {"baseline_skipped": why}
    spec = prepare_baseline(fixture, job, result, folder, speech, tts_s)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec))
    got = run_moviepy(python, spec_path, folder / "moviepy.mp4", H264_PRESET)
    if keep:
        shutil.copy(folder / "moviepy.mp4", keep / "moviepy_baseline.mp4")
    wall = spec["tts_s"] + got["wall_s"]
    base_rtf = wall / got["video_s"]
    return {"baseline": f"moviepy {got['version']}", "baseline_rtf": round(base_rtf, 3),
            "baseline_wall_s": round(wall, 2), "baseline_tts_s": round(spec["tts_s"], 2),
            "baseline_tree_peak_rss_mb": got["tree_peak_rss_mb"], "speedup_vs_baseline": round(base_rtf / rtf, 2)}


def _print_row(row: dict) -> None:
    sync = row.get("av_sync")
    text = (f"video render ({row['avatar']}, {row['video_s']:.1f} s {row['resolution']}@{row['fps']}, "
            f"{row['cores']} cores): RTF {row['rtf']:.3f} (goal <= {GOAL_RTF}), "
            f"peak RSS {row['tree_peak_rss_mb']:.0f} MB (PSS {row['tree_peak_pss_mb']:.0f}), "
            f"stages {row['job_stages_s']}, compositor {row['render_stages_s']}")
    if sync:
        text += f"; A/V lag {sync['best_lag_frames']:+d} frames (r {sync['r_at_best']})"
        if sync.get("driver"):
            text += f", driver {sync['driver']['best_lag_frames']:+d}"
    if "baseline_rtf" in row:
        text += f"; moviepy RTF {row['baseline_rtf']} ({row['speedup_vs_baseline']}x slower)"
    elif "baseline_skipped" in row:
        text += f"; baseline skipped: {row['baseline_skipped']}"
    common.emit(row, text)


def _summary(rows: list[dict]) -> None:
    """The figures as a table: job stages in seconds; avatar frames = time inside the compositor spent making
    the avatar's frames (part of compose + encode, which is shown without it)."""
    print("\n| avatar | video s | RTF | peak RSS MB (PSS) | speech s | lip-sync s | avatar frames s "
          "| compose+encode s | storing s | A/V lag frames (driver) | moviepy RTF |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        st, rs = r["job_stages_s"], r["render_stages_s"]
        sync = r.get("av_sync") or {}
        avatar = rs.get("frame_sources", 0.0)
        lag = "-"
        if sync:
            driver = sync.get("driver")
            lag = f"{sync['best_lag_frames']:+d}" + (f" ({driver['best_lag_frames']:+d})" if driver else "")
        print(f"| {r['avatar']} | {r['video_s']:.1f} | {r['rtf']:.3f} | {r['tree_peak_rss_mb']:.0f} "
              f"({r['tree_peak_pss_mb']:.0f}) | {st.get('speech', 0):.1f} | {st.get('lip-sync', 0):.1f} | "
              f"{avatar:.1f} | {st.get('compose', 0) + st.get('encode', 0) - avatar:.1f} | "
              f"{st.get('storing', 0):.1f} | {lag} | {r.get('baseline_rtf', '-')} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
