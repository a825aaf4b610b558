"""The avatar engine end to end on generated media: training makes a model file with a card, the renderer
follows a mouth track with the person's own mouth, keeps the frame untouched elsewhere, replaces the background
through the matte, inserts actions, streams, and bad videos are refused with a reason."""

import numpy as np
import pytest

from synthesis.avatar import testmedia
from synthesis.avatar.model import ModelFileError, load_model, read_card
from synthesis.avatar.render import ActionCue, Renderer, StreamRenderer, render_clip
from synthesis.avatar.training import ActionMark, TrainingRejected, train_avatar
from synthesis.face.landmarks import interpolate_lost, mouth_opening, track_video
from synthesis.face.video_io import read_frames, video_format

FPS = 25


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("avatar")
    clip = work / "talk.mp4"
    track = testmedia.make_talking_clip(clip, seconds=8.0, green_screen=True)
    stages = []
    result = train_avatar(clip, work / "train", actions=[ActionMark("wave", 5.0, 6.5)],
                          progress=lambda pct, stage: stages.append((pct, stage)))
    return result, clip, track, stages


def _opening_of(frames):
    import tempfile
    from pathlib import Path

    from synthesis.face.video_io import VideoWriter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.mp4"
        with VideoWriter(path, size=(frames[0].shape[1], frames[0].shape[0]), fps=FPS, crf=14) as out:
            for frame in frames:
                out.write(frame[:, :, :3])
        face = track_video(path)
    return mouth_opening(interpolate_lost(face.points))


def test_training_writes_a_model_with_card_cover_and_progress(trained):
    result, _clip, _track, stages = trained
    card = result.card
    assert card["resolution"] == "256x256" and card["fps"] == FPS and card["frames"] == 200
    assert card["green_screen"] is True
    assert card["supports_actions"] is True and card["actions"] == ["wave"]
    assert card["atlas_entries"] > 100 and card["idle_loop_seconds"] >= 2.0
    assert card["blinks_per_minute"] > 0 and card["blinks_in_idle_loop"] >= 1  # the clip blinks; so does the loop
    assert "opening_r" in card["validation"] and card["training_seconds"] > 0
    assert read_card(result.model_path)["actions"] == ["wave"]
    assert result.cover_path.read_bytes()[:2] == b"\xff\xd8"
    percents = [pct for pct, _ in stages]
    assert percents == sorted(percents) and percents[-1] == 100
    assert {"tracking the face", "building the appearance atlas"} <= {stage for _, stage in stages}


def test_renderer_follows_the_mouth_track(trained):
    result, _clip, track, _ = trained
    with Renderer(result.model_path) as renderer:
        shapes = renderer.model.atlas.shapes
        # Drive it with a track that opens and closes through the person's own range.
        wanted = np.interp(np.sin(np.arange(100) / 4.0), [-1, 1], [shapes[:, 0].min(), shapes[:, 0].max()])
        target = np.array([shapes[np.abs(shapes[:, 0] - w).argmin()] for w in wanted])
        frames = list(renderer.render(target))
    assert len(frames) == 100 and frames[0].shape == (256, 256, 3)
    measured = _opening_of(frames)
    assert np.corrcoef(measured, wanted)[0, 1] > 0.8


def test_rendering_the_base_frames_own_shape_leaves_the_frame_as_it_was(trained):
    result, *_ = trained
    with Renderer(result.model_path) as renderer:
        model = renderer.model
        base_video = model.video_path(model.base.video)
        size = (model.width, model.height)
        originals = list(read_frames(base_video, size=size))[:20]
        own = model.atlas.source_frame
        start = int(round(model.base.source_start * FPS))
        # The atlas entry cut from the same source frame as each base frame (when it is in the atlas).
        picks = [int(np.flatnonzero(own == start + i)[0]) for i in range(20) if (own == start + i).any()]
        assert len(picks) >= 10
        track = model.atlas.shapes[picks]
        frames = list(renderer.render(track))
    for frame, original in zip(frames, originals[: len(frames)], strict=True):
        mse = np.mean((frame.astype(float) - original.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / max(mse, 1e-6)) > 30  # PSNR: no box, no seam, no colour shift


def test_background_colour_and_rgba_through_the_matte(trained):
    result, *_ = trained
    with Renderer(result.model_path) as renderer:
        track = np.repeat(renderer.model.atlas.shapes[:1], 5, axis=0)
        on_blue = list(renderer.render(track, background=(255, 0, 0)))
        rgba = list(renderer.render(track, rgba=True))
        half = list(renderer.render(track, size=(128, 128)))
    corner = on_blue[0][2:12, 2:12].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 200 and corner[1] < 60  # blue (BGR) where the green screen was
    assert rgba[0].shape == (256, 256, 4)
    assert rgba[0][5, 5, 3] < 30 and rgba[0][128, 128, 3] > 220  # transparent background, opaque face
    b, g, r, a = (rgba[0][..., i].astype(int) for i in range(4))
    edge = (a > 10) & (a < 245)
    assert edge.sum() > 50 and (g - np.maximum(r, b))[edge].max() <= 2  # no green spill left on the edges
    assert half[0].shape == (128, 128, 3)


def test_actions_are_inserted_at_their_time(trained):
    result, *_ = trained
    with Renderer(result.model_path) as renderer:
        track = np.repeat(renderer.model.atlas.shapes[:1], 90, axis=0)
        plan = renderer._plan(90, [ActionCue("wave", 1.0)], FPS)
        frames = list(renderer.render(track, actions=[ActionCue("wave", 1.0)]))
        with pytest.raises(KeyError, match="no action named"):
            list(renderer.render(track, actions=[ActionCue("jump", 1.0)]))
    names = [seg.name for seg, *_ in plan]
    assert names[:25] == ["idle"] * 25 and names[25] == "wave" and names.count("wave") == 37
    assert len(frames) == 90


def test_idle_loop_has_no_jump_where_it_wraps(trained):
    result, *_ = trained
    with load_model(result.model_path) as model:
        frames = np.array(list(read_frames(model.video_path(model.base.video), size=(model.width, model.height))),
                          np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    wrap = np.abs(frames[0] - frames[-1]).mean()
    assert wrap <= 3 * np.median(steps) + 1.0


def test_streaming_renders_frames_as_audio_arrives(trained, tmp_path):
    result, clip, *_ = trained
    from synthesis.media.derive import extract_mono_wav
    from synthesis.speech.audio import read_wav

    pcm, rate = read_wav(extract_mono_wav(clip, tmp_path / "a.wav", 16000))
    audio = pcm.astype(np.float32) / 32768
    with Renderer(result.model_path) as renderer:
        expected = len(renderer.mouth_model().predict(audio, rate, FPS))
        stream = StreamRenderer(renderer, background=(0, 0, 0))
        got, early = [], 0
        try:
            for start in range(0, len(audio), 1600):  # 100 ms chunks
                frames = stream.push(audio[start : start + 1600])
                got += frames
                if start >= len(audio) // 2 and not early:
                    early = len(got)
            got += stream.flush()
            idle = stream.idle(3)
        finally:
            stream.close()
    assert len(got) == expected and early > 0.3 * expected  # frames came out before the audio ended
    assert got[0].shape == (256, 256, 3) and len(idle) == 3


def test_render_clip_from_audio_and_from_text(trained, tmp_path):
    result, clip, *_ = trained
    out = render_clip(result.model_path, tmp_path / "a.mp4", audio_path=clip)
    fmt = video_format(out)
    assert fmt.has_audio and abs(fmt.duration_s - 8.0) < 0.3 and (fmt.width, fmt.height) == (256, 256)
    said = render_clip(result.model_path, tmp_path / "t.mp4", text="Hello there.", voice_id="espeak-en-us-m", fps=30)
    said_fmt = video_format(said)
    assert said_fmt.has_audio and said_fmt.duration_s > 0.5 and said_fmt.fps == 30


def test_rendering_at_another_frame_rate_steps_through_the_persons_frames(trained):
    result, *_ = trained
    with Renderer(result.model_path) as renderer:
        plan = renderer._plan(60, [], 30)
        frames = list(renderer.render(np.repeat(renderer.model.atlas.shapes[:1], 60, axis=0), fps=30))
    assert len(frames) == 60
    # 2 s at 30 fps show 2 s of the 25 fps idle loop: 50 distinct frames, some held for two output frames
    assert [i for _, i, *_ in plan][-1] == 49 and len({i for _, i, *_ in plan}) == 50


@pytest.mark.parametrize("kind", ["no_audio", "no_face", "corrupt"])
def test_bad_training_videos_are_refused_with_a_reason(tmp_path, kind):
    clip = tmp_path / "bad.mp4"
    if kind == "no_audio":
        testmedia.make_talking_clip(clip, seconds=3.0, audio=False)
        match = "no audio track"
    elif kind == "no_face":
        testmedia.make_still_clip(clip, seconds=3.0)
        match = "face was found in only 0%"
    else:
        testmedia.corrupt_file(clip)
        match = "could not be read"
    with pytest.raises(TrainingRejected, match=match):
        train_avatar(clip, tmp_path / "work")


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        load_model(junk)


def test_blinks_are_found_and_one_close_dip_counts_once():
    from synthesis.avatar.training import blink_starts

    openness = np.full(100, 0.3)
    openness[[20, 21, 24, 60, 61]] = 0.1  # a blink that flickers (20-24) and another one
    assert blink_starts(openness, np.ones(100, bool)) == [20, 60]
    assert blink_starts(openness, np.zeros(100, bool)) == []
