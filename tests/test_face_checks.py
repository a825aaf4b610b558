"""Training-video checks (synthesis.face.video_check): each bad input gets a clear verdict from the rule it
breaks; a good clip passes with only the expected warnings. Clips are made by synthesis.avatar.testmedia."""

import json
from pathlib import Path

import numpy as np
import pytest

from synthesis.avatar import testmedia
from synthesis.face import video_check
from synthesis.face.video_check import FAIL, PASS, WARN, check_training_video
from synthesis.face.video_io import VideoWriter

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media" / "video"
needs_media = pytest.mark.skipif(not MEDIA.is_dir(), reason="shared/media/video (real test footage) is not present")


def _status(report, rule):
    result = report.rule(rule)
    assert result is not None, f"rule {rule!r} missing from {[r.rule for r in report.rules]}"
    return result.status


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return {"good": root / "good.mp4", "track": testmedia.make_talking_clip(root / "good.mp4", seconds=4.0)}


def test_good_clip_passes_with_expected_warnings(clips):
    seen = []
    report = check_training_video(clips["good"], progress=lambda p, stage: seen.append((p, stage)))
    assert report.passed, report.failures
    warned = {r.rule for r in report.rules if r.status == WARN}
    assert warned <= {"resolution", "duration"}, report.warnings
    assert _status(report, "duration") == WARN and "lower quality" in report.rule("duration").message
    for rule in ("readable", "one_person", "face_visible", "frontal", "face_size", "lighting", "speech"):
        assert _status(report, rule) == PASS, report.rule(rule)
    assert report.rule("green_screen").value is False and report.green_screen is False
    assert (report.width, report.height, report.fps, report.has_audio) == (256, 256, 25.0, True)
    assert seen[-1] == (100, "done") and [p for p, _ in seen] == sorted(p for p, _ in seen)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True and {r["rule"] for r in data["rules"]} >= {"speech", "blur", "frame_rate"}


def test_no_face(tmp_path):
    report = check_training_video(testmedia.make_still_clip(tmp_path / "still.mp4", 4.0))
    assert not report.passed
    assert _status(report, "one_person") == FAIL and "No face" in report.rule("one_person").message


def test_two_faces(tmp_path):
    testmedia.make_talking_clip(tmp_path / "two.mp4", seconds=4.0, faces=2)
    report = check_training_video(tmp_path / "two.mp4")
    assert _status(report, "one_person") == FAIL and "Two or more faces" in report.rule("one_person").message
    assert not report.passed


def test_face_lost_for_seconds(tmp_path):
    fps, size = 25, (256, 256)
    track = testmedia.opening_track(6.0, fps)
    wav = testmedia.write_wav(tmp_path / "a.wav", testmedia.speech_like_audio(track, fps))
    blank = np.full((256, 256, 3), (90, 120, 150), np.uint8)
    with VideoWriter(tmp_path / "lost.mp4", size=size, fps=fps, audio=wav) as writer:
        for i, opening in enumerate(track):
            t = i / fps
            writer.write(blank if 2.0 <= t < 4.5 else testmedia.render_frame(float(opening), t, size))
    report = check_training_video(tmp_path / "lost.mp4")
    rule = report.rule("face_visible")
    assert rule.status == FAIL and not report.passed
    assert "from 00:02 to 00:04" in rule.message or "from 00:02 to 00:05" in rule.message, rule.message


def test_sixty_fps_is_converted(tmp_path):
    testmedia.make_talking_clip(tmp_path / "fast.mp4", seconds=3.5, fps=60, audio=False)
    report = check_training_video(tmp_path / "fast.mp4")
    assert _status(report, "frame_rate") == WARN and "converted to 30 fps" in report.rule("frame_rate").message


def test_resolution_and_frame_rate_grades():
    assert video_check.grade_resolution(3840, 2160).status == PASS
    assert video_check.grade_resolution(1920, 1080).status == PASS
    assert video_check.grade_resolution(1280, 720).status == WARN
    assert video_check.grade_resolution(480, 480).status == WARN  # the benchmark clips must still train
    assert video_check.grade_resolution(1080, 1920).status == PASS  # vertical 1080p
    low = video_check.grade_resolution(320, 180)
    assert low.status == FAIL and "too low" in low.message
    assert video_check.grade_frame_rate(60).status == WARN
    assert "30 fps" in video_check.grade_frame_rate(59.94).message
    assert video_check.grade_frame_rate(25).status == PASS and video_check.grade_frame_rate(29.97).status == PASS
    assert video_check.grade_frame_rate(15).status == FAIL
    assert video_check.grade_duration(2.0).status == FAIL
    assert video_check.grade_duration(3.0).status == WARN
    assert video_check.grade_duration(120).status == PASS
    assert video_check.grade_duration(11 * 60).status == FAIL


def test_too_short(tmp_path):
    testmedia.make_talking_clip(tmp_path / "short.mp4", seconds=2.0)
    report = check_training_video(tmp_path / "short.mp4")
    assert _status(report, "duration") == FAIL and "too short" in report.rule("duration").message
    testmedia.make_talking_clip(tmp_path / "three.mp4", seconds=3.0)
    assert _status(check_training_video(tmp_path / "three.mp4"), "duration") == WARN


def test_audio_missing_and_silent(tmp_path):
    testmedia.make_talking_clip(tmp_path / "mute.mp4", seconds=3.5, audio=False)
    report = check_training_video(tmp_path / "mute.mp4")
    assert _status(report, "speech") == FAIL and "Audio missing" in report.rule("speech").message

    fps, size = 25, (256, 256)
    wav = testmedia.write_wav(tmp_path / "silence.wav", np.zeros(16000 * 4, np.float32))
    with VideoWriter(tmp_path / "silent.mp4", size=size, fps=fps, audio=wav) as writer:
        for i in range(4 * fps):
            writer.write(testmedia.render_frame(0.0, i / fps, size))
    report = check_training_video(tmp_path / "silent.mp4")
    assert _status(report, "speech") == FAIL and "silent" in report.rule("speech").message


def test_corrupt_and_non_video_files(tmp_path):
    for path in (
        testmedia.corrupt_file(tmp_path / "bad.mp4"),
        testmedia.write_wav(tmp_path / "voice.wav", np.zeros(16000, np.float32)),
        tmp_path / "empty.mp4",
    ):
        path.touch()
        report = check_training_video(path)
        assert not report.passed and [r.rule for r in report.rules] == ["readable"]
        assert report.rules[0].status == FAIL and report.rules[0].message


def test_vertical_video_is_accepted(tmp_path):
    testmedia.make_talking_clip(tmp_path / "tall.mp4", seconds=3.5, size=(256, 448))
    report = check_training_video(tmp_path / "tall.mp4")
    assert report.rule("orientation").value == "portrait" and _status(report, "orientation") in (PASS, WARN)
    assert report.passed, report.failures


def test_green_screen_detected(tmp_path):
    testmedia.make_talking_clip(tmp_path / "green.mp4", seconds=3.5, green_screen=True)
    report = check_training_video(tmp_path / "green.mp4")
    assert report.green_screen is True and report.rule("green_screen").value is True
    assert report.passed, report.failures


def test_voiced_share_on_generated_audio():
    track = testmedia.opening_track(4.0, 25)
    share, peak = video_check.voiced_share(testmedia.speech_like_audio(track, 25))
    assert share > 0.3 and peak > -20
    assert video_check.voiced_share(np.zeros(32000, np.float32))[0] == 0.0
    noise = np.random.default_rng(0).normal(0, 0.1, 32000).astype(np.float32)
    assert video_check.voiced_share(noise)[0] < 0.05


@needs_media
@pytest.mark.parametrize(
    "name",
    ["woman_singing_480.mp4", "man_zh_talking_480.mp4", "talking_a_700_vfr.mp4", "talking_b_700.mp4",
     "talking_c_524.mp4"],
)  # fmt: skip
def test_real_clips_pass_with_warnings(name):
    report = check_training_video(MEDIA / name)
    assert report.passed, report.failures
    assert _status(report, "resolution") == WARN and _status(report, "duration") == WARN
    assert _status(report, "one_person") == PASS and _status(report, "speech") == PASS


@needs_media
def test_real_music_and_idle_clips():
    music = check_training_video(MEDIA / "presenter_music_1280x720.mp4")
    assert _status(music, "speech") in (PASS, WARN) and music.passed, music.failures
    idle = check_training_video(MEDIA / "woman_idle_576x768.mp4")
    assert _status(idle, "speech") == FAIL and "Audio missing" in idle.rule("speech").message
    assert [r.rule for r in idle.rules if r.status == FAIL] == ["speech"]
