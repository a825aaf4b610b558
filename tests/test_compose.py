"""The video compositor (synthesis.compose) on small generated media: backgrounds, layers and their alpha,
frame-exact scene boundaries, the encoded file, audio placement and ducking, transparent output, frame sources
(the avatar among them)."""

import json
import subprocess
import wave

import numpy as np
import pytest

from synthesis.compose import audio as mixaudio
from synthesis.compose.compositor import avatar_layer, compose_frames, render
from synthesis.compose.timeline import (
    Canvas,
    Colour,
    FramesLayer,
    ImageBackground,
    ImageLayer,
    Music,
    Scene,
    Sound,
    TextLayer,
    Timeline,
    VideoBackground,
    VideoLayer,
)

W, H, FPS = 320, 180, 25
RATE = mixaudio.SAMPLE_RATE


def _wav(path, pcm, rate=RATE):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.asarray(pcm, np.int16).tobytes())
    return path


def _tone(freq, seconds, amp=0.5, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _png(path, bgra):
    import cv2

    cv2.imwrite(str(path), bgra)
    return path


def _video(path, frames, fps=FPS):
    """An H.264 file of the given BGR frames (near-lossless)."""
    h, w = frames[0].shape[:2]
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps),
            "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p", str(path)]
    subprocess.run(argv, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def _level_video(path, n, size=(160, 90)):
    """Frame k is flat grey 20 + 8 k: which frame shows is readable from the picture."""
    return _video(path, [np.full((size[1], size[0], 3), 20 + 8 * k, np.uint8) for k in range(n)])


def _frames(timeline, **kw):
    return list(compose_frames(timeline, **kw))


def _probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _decode_rgb(path, size=(W, H), extra=()):
    raw = subprocess.run(["ffmpeg", "-v", "error", *extra, "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size[1], size[0], 3)


def _decode_audio(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(RATE), "-f",
                          "s16le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32)


# --- backgrounds and layers (composed frames, no encoding: exact values) ----------------------------------


def test_colour_background_and_a_half_transparent_png_blend_to_the_exact_colour(tmp_path):
    half = np.zeros((40, 80, 4), np.uint8)
    half[..., 2], half[..., 3] = 255, 128  # red at alpha 128
    png = _png(tmp_path / "half.png", half)
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, Colour((0, 0, 255)), [
        ImageLayer(x=20, y=30, width=80, height=40, path=png)])])
    frame = _frames(tl)[0]
    b, g, r = frame[50, 60].astype(int)
    # over: red * 128/255 + blue * 127/255
    assert abs(r - 128) <= 2 and abs(b - 127) <= 2 and g <= 2
    assert tuple(frame[5, 5]) == (255, 0, 0) and tuple(frame[50, 110]) == (255, 0, 0)  # BGR blue outside the box


def test_layers_are_drawn_in_order_with_opacity_and_clipped_to_the_canvas(tmp_path):
    green = _png(tmp_path / "g.png", np.dstack([np.zeros((50, 50, 3), np.uint8) + (0, 255, 0),
                                                np.full((50, 50), 255, np.uint8)]))
    white = _png(tmp_path / "w.png", np.full((50, 50, 4), 255, np.uint8))
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, Colour((0, 0, 0)), [
        ImageLayer(x=0, y=0, width=50, height=50, path=green),
        ImageLayer(x=25, y=25, width=50, height=50, path=white),  # on top of the green one
        ImageLayer(x=290, y=150, width=50, height=50, path=white, opacity=0.5),  # half off the canvas, half opaque
    ])])
    frame = _frames(tl)[0]
    assert tuple(frame[10, 10]) == (0, 255, 0)
    assert tuple(frame[30, 30]) == (255, 255, 255)
    assert np.abs(frame[170, 310].astype(int) - 128).max() <= 1


def test_image_background_covers_the_canvas(tmp_path):
    grad = np.zeros((90, 160, 4), np.uint8)
    grad[..., 2] = np.linspace(0, 255, 160, dtype=np.uint8)[None, :]
    grad[..., 3] = 255
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, ImageBackground(_png(tmp_path / "bg.png", grad)))])
    frame = _frames(tl)[0]
    assert frame.shape == (H, W, 3)
    assert frame[90, 2, 2] < 10 and frame[90, W - 2, 2] > 245 and frame[90, W // 2, 2] == pytest.approx(128, abs=4)


def test_video_background_is_in_step_with_the_frames_and_loops(tmp_path):
    clip = _level_video(tmp_path / "levels.mp4", 10)
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.6, VideoBackground(clip))])  # 15 frames of a 10-frame clip
    frames = _frames(tl)
    assert len(frames) == 15
    levels = [int(f[90, 160, 1]) for f in frames]
    want = [20 + 8 * (k % 10) for k in range(15)]
    assert np.abs(np.array(levels) - want).max() <= 3


def test_video_layer_plays_inside_its_box_proportionally(tmp_path):
    clip = _level_video(tmp_path / "levels.mp4", 5)  # 16:9
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.4, Colour((255, 0, 0)), [
        VideoLayer(x=100, y=20, width=120, height=120, path=clip)])])  # a square box: letterboxed
    frames = _frames(tl)
    first, last = frames[0], frames[-1]
    # 120x68 picture centred in the box (y 46..113); the box's top band keeps the red background
    assert abs(int(first[80, 160, 1]) - 20) <= 3 and abs(int(last[80, 160, 1]) - 52) <= 3  # frame 4: held
    assert tuple(first[25, 160]) == (0, 0, 255) and tuple(first[80, 90]) == (0, 0, 255)


def test_more_than_two_video_layers_are_refused(tmp_path):
    layers = [VideoLayer(x=0, y=0, width=10, height=10, path=tmp_path / "v.mp4") for _ in range(3)]
    with pytest.raises(ValueError, match="at most 2 video layers"):
        Timeline(Canvas(W, H, FPS), [Scene(1.0, Colour((0, 0, 0)), layers)]).validate()


def test_text_layer_draws_cjk_and_latin_inside_its_box():
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, Colour((0, 0, 0)), [
        TextLayer(x=20, y=100, width=280, height=60, text="你好 Hello", font_size=40, colour=(255, 255, 0))])])
    frame = _frames(tl)[0]
    box = frame[100:160, 20:300]
    lit = (box[..., 2] > 200) & (box[..., 1] > 200) & (box[..., 0] < 60)  # yellow
    assert lit.sum() > 300
    frame[100:160, 20:300] = 0
    assert frame.max() == 0  # nothing outside the box


def test_layer_times_and_scene_boundaries_land_on_exact_frames():
    tl = Timeline(Canvas(W, H, 10), [
        Scene(0.52, Colour((255, 0, 0)), [  # 0.52 s at 10 fps -> 5 frames
            FramesLayer(x=0, y=0, width=20, height=20, start=0.2, end=0.4,
                        source=(np.full((20, 20, 3), 255, np.uint8) for _ in range(10)))]),
        Scene(0.3, Colour((0, 255, 0))),
    ])
    frames = _frames(tl)
    assert len(frames) == 8 and tl.total_frames == 8 and tl.scene_starts() == [0, 5]
    assert [int(f[50, 50, 2]) for f in frames] == [255] * 5 + [0] * 3
    assert [int(f[5, 5, 1]) for f in frames[:5]] == [0, 0, 255, 255, 0]  # shown for frames 2 and 3


def test_frames_layer_takes_bgra_frames_fits_them_and_holds_the_last():
    seen = {}

    def source(fps, frames):
        seen.update(fps=fps, frames=frames)
        for k in range(3):
            f = np.zeros((40, 40, 4), np.uint8)
            f[..., 1], f[10:30, 10:30, 3] = 50 * (k + 1), 255  # opaque square in a transparent frame
            yield f

    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, Colour((0, 0, 255)), [
        FramesLayer(x=100, y=50, width=80, height=80, source=source)])])  # 2x up-scaled into the box
    frames = _frames(tl)
    assert seen == {"fps": 25.0, "frames": 5}
    assert [int(f[90, 140, 1]) for f in frames] == [50, 100, 150, 150, 150]
    assert tuple(frames[0][55, 105]) == (255, 0, 0)  # transparent part of the frame: background


def test_subtitle_overlay_is_drawn_last_in_rgba_order():
    class Subs:
        def __init__(self):
            self.pic = np.zeros((H, W, 4), np.uint8)
            self.pic[150:170, 100:200] = (255, 0, 0, 255)  # RGBA red

        def overlay_at(self, t):
            return self.pic if t >= 0.2 else None

    tl = Timeline(Canvas(W, H, FPS), [Scene(0.4, Colour((0, 0, 0)), [
        TextLayer(x=0, y=140, width=W, height=40, text="under", font_size=30)])], subtitles=Subs())
    frames = _frames(tl)
    assert tuple(frames[0][160, 150]) != (0, 0, 255)
    assert tuple(frames[5][160, 150]) == (0, 0, 255) and tuple(frames[9][160, 150]) == (0, 0, 255)


def test_the_subtitle_engine_burns_its_cues_in_at_their_times():
    from synthesis.compose.subtitles import Cue, SubtitleStyle, SubtitleTrack
    from synthesis.photo.card import CardFontMissing

    try:
        track = SubtitleTrack([Cue(0.2, 0.6, ["字幕 subtitle"])], (W, H),
                              SubtitleStyle(font_size=24, color=(255, 255, 0), stroke_width=0))
        track.overlay_at(0.3)
    except CardFontMissing as missing:
        pytest.skip(str(missing))
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.8, Colour((0, 0, 0)), [])], subtitles=track)
    frames = _frames(tl)

    def yellow(frame):  # BGR frames: yellow is high green and red, low blue, in the bottom third
        bottom = frame[H * 2 // 3:].astype(int)
        return int(((bottom[..., 2] > 200) & (bottom[..., 1] > 200) & (bottom[..., 0] < 60)).sum())

    assert yellow(frames[0]) == 0 and yellow(frames[4]) == 0  # before 0.2 s (frame 4 is 0.16 s)
    assert yellow(frames[6]) > 30 and yellow(frames[14]) > 30  # 0.24 s and 0.56 s
    assert yellow(frames[16]) == 0  # 0.64 s: the cue ended


# --- the encoded file ----------------------------------------------------------------------------------------


def test_mp4_has_the_right_streams_length_colour_and_speech_at_its_scene(tmp_path):
    speech = np.concatenate([_tone(1000, 0.5), np.zeros(int(0.3 * RATE), np.int16)])
    beep = _wav(tmp_path / "beep.wav", speech)
    music = _wav(tmp_path / "music.wav", _tone(200, 0.7, amp=0.05))
    tl = Timeline(Canvas(W, H, FPS), [
        Scene(1.02, Colour((200, 40, 40))),  # 25.5 frames -> 26 (rounded to the nearest frame)
        Scene(None, Colour((40, 200, 40)), audio=beep),  # 0.8 s of audio -> 20 frames
    ], music=Music(music, volume=0.2))
    stages = []
    result = render(tl, tmp_path / "out.mp4", progress=lambda pct, stage: stages.append((pct, stage)))
    assert result.frames == 46 and result.duration_s == pytest.approx(46 / FPS)
    info = _probe(result.path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert video["codec_name"] == "h264" and (video["width"], video["height"]) == (W, H)
    assert video["r_frame_rate"] == "25/1" and video["pix_fmt"] == "yuv420p" and video.get("color_space") == "bt709"
    assert audio["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - 46 / FPS) <= 1 / FPS
    frames = _decode_rgb(result.path)
    assert len(frames) == 46
    assert np.abs(frames[10, 90, 160].astype(int) - (200, 40, 40)).max() <= 6  # colour kept (BT.709 both ways)
    assert frames[25, 90, 160, 0] > 150 and frames[26, 90, 160, 1] > 150  # the cut is at frame 26
    pcm = _decode_audio(result.path)
    onset = int(np.flatnonzero(np.abs(pcm) > 8000)[0])  # music peaks at ~1600: only the beep passes
    assert abs(onset / RATE - 26 / FPS) <= 1 / FPS
    percents = [p for p, _ in stages]
    assert percents == sorted(percents) and stages[-1] == (100, "encode") and ("compose" in {s for _, s in stages})
    assert set(result.seconds_by_stage) >= {"audio", "compose", "total"}


def test_the_fast_bt601_path_keeps_colours_and_says_so(tmp_path):
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.2, Colour((200, 40, 40)))])
    result = render(tl, tmp_path / "fast.mp4", matrix="bt601")
    assert _probe(result.path)["streams"][0].get("color_space") == "smpte170m"
    assert np.abs(_decode_rgb(result.path)[2, 90, 160].astype(int) - (200, 40, 40)).max() <= 6


def test_an_asked_bitrate_replaces_the_constant_quality(tmp_path):
    """Noise (hard to compress) at 100 and 800 kbit/s: the average video bitrate follows what was asked."""
    noise = _video(tmp_path / "noise.mp4", [np.random.default_rng(n).integers(0, 255, (H, W, 3), np.uint8)
                                            for n in range(50)])
    rates = []
    for kbps in (100, 800):
        tl = Timeline(Canvas(W, H, FPS), [Scene(2.0, VideoBackground(noise))])
        result = render(tl, tmp_path / f"rate{kbps}.mp4", bitrate_kbps=kbps)
        video = next(s for s in _probe(result.path)["streams"] if s["codec_type"] == "video")
        rates.append(int(video["bit_rate"]) / 1000)
    assert rates[0] < 200 and 400 < rates[1] < 1300, rates


def test_music_is_ducked_under_speech(tmp_path):
    speech = np.zeros(4 * RATE, np.int16)
    speech[int(RATE * 1.5): int(RATE * 2.5)] = _tone(1000, 1.0, amp=0.3)
    music = Music(_wav(tmp_path / "m.wav", _tone(300, 1.3, amp=0.5)), volume=0.5, fade_out_s=0.0)  # looped
    out = mixaudio.write_mix(tmp_path / "mix.wav", speech, music)
    with wave.open(str(out)) as f:
        assert f.getnchannels() == 2 and f.getframerate() == RATE and f.getnframes() == len(speech)
        mix = np.frombuffer(f.readframes(f.getnframes()), np.int16).reshape(-1, 2)[:, 0].astype(np.float64)

    def level_300(a, b):  # dB of the 300 Hz component in [a, b) seconds
        part = mix[int(a * RATE): int(b * RATE)]
        spec = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        freqs = np.fft.rfftfreq(len(part), 1 / RATE)
        return 20 * np.log10(spec[np.abs(freqs - 300) < 5].max())

    assert level_300(0.5, 0.8) - level_300(1.9, 2.2) >= 8  # ducked (by 12 dB)
    assert level_300(1.1, 1.3) - level_300(0.5, 0.7) > -1  # not before the look-ahead (attack_s)
    assert abs(level_300(0.5, 0.8) - level_300(3.2, 3.5)) < 1  # released


def _mix(tmp_path, timeline, speech=None):
    """The timeline's sound track as write_mix makes it for the compositor (left channel, float)."""
    counts = timeline.frame_counts()
    total = mixaudio.frame_sample(sum(counts), FPS)
    track = np.zeros(total, np.int16) if speech is None else speech[:total]
    out = mixaudio.write_mix(tmp_path / "mix.wav", track, timeline.music,
                             sounds=mixaudio.scene_sounds(timeline, counts))
    with wave.open(str(out)) as f:
        assert f.getnframes() == total
        return np.frombuffer(f.readframes(f.getnframes()), np.int16).reshape(-1, 2)[:, 0].astype(np.float64)


def _clicked_video(path, frames, *, audio_delay_s=0.0):
    """A video of `frames` frames whose sound (PCM, exact) is one loud click at the start of its picture."""
    click = np.zeros(int(frames / FPS * RATE), np.int16)
    click[:48] = 30000
    wav = _wav(path.with_suffix(".wav"), click)
    picture = [np.full((36, 64, 3), 20 + 8 * k, np.uint8) for k in range(frames)]
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "64x36", "-r", str(FPS),
            "-i", "-", "-itsoffset", str(audio_delay_s), "-i", str(wav), "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "pcm_s16le", str(path)]
    subprocess.run(argv, input=b"".join(f.tobytes() for f in picture), check=True)
    return path


def test_the_sound_of_a_looping_video_repeats_with_its_picture_sample_exact(tmp_path):
    video = _clicked_video(tmp_path / "clip.mov", 13)  # 0.52 s: 13 frames, 24960 samples a pass
    layer = VideoLayer(x=0, y=0, width=64, height=36, path=video, loop=True, start=0.2)
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.4, Colour((0, 0, 0))),
                                      Scene(2.0, Colour((0, 0, 0)), [layer],
                                            sounds=[Sound(video, gain=0.5, start=0.2, loop=True, duck=False)])])
    mix = _mix(tmp_path, tl)
    clicks = np.flatnonzero((np.abs(mix[1:]) > 5000) & (np.abs(mix[:-1]) <= 5000)) + 1
    first = mixaudio.frame_sample(10 + 5, FPS)  # scene 2 starts at frame 10, the layer 5 frames later
    assert clicks.tolist() == [first + k * 24960 for k in range(4)]  # 1.8 s of layer: 4 passes begin
    assert np.abs(mix[:first - 1]).max() == 0  # nothing before the layer starts
    # the picture repeats on the same grid: frame 15 + 13 k shows the video's first frame again
    frames = _frames(tl)
    firsts = [i for i, f in enumerate(frames) if f[18, 32, 0] == 20]
    assert firsts == [15, 28, 41, 54]
    assert [round(mixaudio.frame_sample(i, FPS) / 24960, 3) for i in firsts] == [
        round(c / 24960, 3) for c in clicks.tolist()]


def test_a_video_sound_keeps_its_offset_from_the_picture_and_plays_once_without_loop(tmp_path):
    video = _clicked_video(tmp_path / "late.mov", 10, audio_delay_s=0.1)
    tl = Timeline(Canvas(W, H, FPS), [Scene(1.2, Colour((0, 0, 0)), sounds=[Sound(video, duck=False)])])
    mix = _mix(tmp_path, tl)
    clicks = np.flatnonzero((np.abs(mix[1:]) > 5000) & (np.abs(mix[:-1]) <= 5000)) + 1
    assert clicks.tolist() == [int(0.1 * RATE)]


def test_an_audio_bed_loops_through_its_scene_ducked_under_speech_and_stops_at_the_scene_end(tmp_path):
    bed = _wav(tmp_path / "bed.wav", _tone(300, 0.3, amp=0.4))  # shorter than the scene: repeats
    speech = np.zeros(3 * RATE, np.int16)
    speech[int(RATE * 0.6): int(RATE * 1.0)] = _tone(1000, 0.4, amp=0.3)
    tl = Timeline(Canvas(W, H, FPS), [Scene(2.0, Colour((0, 0, 0)), sounds=[Sound(bed, loop=True)]),
                                      Scene(1.0, Colour((0, 0, 0)))])
    mix = _mix(tmp_path, tl, speech)

    def level(freq, a, b):
        part = mix[int(a * RATE): int(b * RATE)]
        spec = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        return 20 * np.log10(spec[np.abs(np.fft.rfftfreq(len(part), 1 / RATE) - freq) < 5].max() + 1e-9)

    assert level(300, 0.1, 0.4) > 90 and level(300, 0.3, 0.6) > 90  # the bed plays, looped past its 0.3 s
    assert level(300, 0.1, 0.4) - level(300, 0.7, 1.0) >= 8  # ducked under the speech
    assert abs(level(300, 0.1, 0.4) - level(300, 1.6, 1.9)) < 1  # released after it
    assert np.abs(mix[int(2.0 * RATE):]).max() == 0  # the next scene has no bed


def test_a_sound_without_an_audio_stream_is_silent_and_a_corrupt_one_fails(tmp_path):
    from synthesis.media.errors import MediaError

    silent = _level_video(tmp_path / "mute.mp4", 5)
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.4, Colour((0, 0, 0)), sounds=[Sound(silent)])])
    assert np.abs(_mix(tmp_path, tl)).max() == 0
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    tl = Timeline(Canvas(W, H, FPS), [Scene(0.4, Colour((0, 0, 0)), sounds=[Sound(broken)])])
    with pytest.raises(MediaError, match="broken.mp4"):
        _mix(tmp_path, tl)


def test_transparent_webm_keeps_its_alpha(tmp_path):
    square = _png(tmp_path / "sq.png", np.dstack([np.full((60, 60, 3), (0, 0, 255), np.uint8),
                                                  np.full((60, 60), 255, np.uint8)]))
    tl = Timeline(Canvas(W, H, FPS, alpha=True), [Scene(0.4, None, [
        ImageLayer(x=130, y=60, width=60, height=60, path=square)])])
    result = render(tl, tmp_path / "out.webm", codec="vp9-alpha")
    info = _probe(result.path)
    assert info["streams"][0]["codec_name"] == "vp9" and info["streams"][1]["codec_name"] == "opus"
    raw = subprocess.run(["ffmpeg", "-v", "error", "-c:v", "libvpx-vp9", "-i", str(result.path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    rgba = np.frombuffer(raw, np.uint8).reshape(H, W, 4)
    assert rgba[10, 10, 3] < 10 and rgba[90, 160, 3] > 245 and rgba[90, 160, 0] > 200


def test_transparent_canvas_frames_are_straight_alpha():
    half = np.zeros((20, 20, 4), np.uint8)
    half[..., 1], half[..., 3] = 200, 100
    tl = Timeline(Canvas(W, H, FPS, alpha=True), [Scene(0.1, Colour((0, 0, 0, 0)), [
        FramesLayer(x=0, y=0, width=20, height=20, source=iter([half]))])])
    frame = _frames(tl, alpha=True)[0]
    assert frame[10, 10, 3] == 100 and abs(int(frame[10, 10, 1]) - 200) <= 2  # colour unchanged under alpha
    assert frame[100, 100, 3] == 0


# --- the avatar ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def avatar_model(tmp_path_factory):
    from synthesis.avatar import testmedia
    from synthesis.avatar.training import ActionMark, train_avatar

    work = tmp_path_factory.mktemp("compose-avatar")
    clip = work / "talk.mp4"
    testmedia.make_talking_clip(clip, seconds=4, size=(256, 256), green_screen=True)
    return train_avatar(clip, work / "train", actions=[ActionMark("wave", 2.5, 3.5)]).model_path, clip


def test_avatar_layer_renders_the_person_keyed_into_its_box(avatar_model, tmp_path):
    model_path, clip = avatar_model
    speech = tmp_path / "speech.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", "1.2", "-vn", str(speech)], check=True)
    tl = Timeline(Canvas(W, H, FPS), [Scene(None, Colour((255, 0, 0)), [
        avatar_layer(model_path, speech, None, (100, 10, 160, 160))], audio=speech)])
    frames = _frames(tl)
    assert len(frames) == 30
    f = frames[10]
    assert tuple(f[5, 5]) == (0, 0, 255)  # outside the box
    assert tuple(f[15, 115]) == (0, 0, 255)  # inside the box, where the green screen was
    person = f[60:170, 140:220].reshape(-1, 3).astype(int)
    assert (np.abs(person - (0, 0, 255)).max(axis=1) > 60).mean() > 0.8  # the person covers the middle


def test_avatar_layer_plays_an_action_at_its_time(avatar_model, tmp_path):
    from synthesis.avatar.render import ActionCue

    model_path, clip = avatar_model
    speech = tmp_path / "speech.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-t", "1.2", "-vn", str(speech)], check=True)

    def frames(actions):
        layer = avatar_layer(model_path, speech, None, (100, 10, 160, 160), actions=actions)
        return np.array(_frames(Timeline(Canvas(W, H, FPS), [Scene(None, Colour((255, 0, 0)), [layer],
                                                                   audio=speech)])), np.int16)

    plain, acting = frames(()), frames([ActionCue("wave", 0.4)])
    assert np.array_equal(plain[:10], acting[:10])  # the same idle frames before the action
    assert np.abs(plain[12:] - acting[12:]).mean() > 1  # the action's frames after it
