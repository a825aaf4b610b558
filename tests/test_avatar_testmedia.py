"""The generated test media (synthesis.avatar.testmedia): the animated astronaut's mouth, as FaceMesh reads it,
follows the track the generator returns, and the audio follows it too. Other avatar tests rely on this."""

import wave

import numpy as np
import pytest

from synthesis.avatar import testmedia
from synthesis.face.landmarks import mouth_opening, track_video
from synthesis.media.derive import extract_mono_wav
from synthesis.media.probe import probe


def _frame_rms(wav_path, fps, frames):
    with wave.open(str(wav_path)) as wav:
        rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64) / 32768
    hop = rate / fps
    return np.array([np.sqrt(np.mean(audio[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(frames)])


def test_talking_clip_mouth_and_audio_follow_the_track(tmp_path):
    path = tmp_path / "talk.mp4"
    track = testmedia.make_talking_clip(path, seconds=4.0)
    info = probe(path)
    assert info.error is None and (info.width, info.height) == (256, 256) and info.has_audio
    assert info.fps == 25 and abs(info.duration_s - 4.0) < 0.1
    assert len(track) == 100 and track.min() == pytest.approx(testmedia.BASE_OPENING)
    assert np.ptp(track) > 0.3  # really opens and closes

    face = track_video(path)
    measured = mouth_opening(face.points)
    assert face.found.all()
    assert np.corrcoef(measured, track)[0, 1] > 0.8

    wav = extract_mono_wav(path, tmp_path / "talk.wav", 16000)
    rms = _frame_rms(wav, 25, len(track))
    assert np.corrcoef(rms, track)[0, 1] > 0.7
    closed = track < testmedia.BASE_OPENING + 0.01
    assert rms[closed].mean() < 0.1 * rms[~closed].mean()  # silence while the mouth is closed


def test_variants(tmp_path):
    import cv2
    import mediapipe as mp

    from synthesis.face.video_io import read_frames

    testmedia.make_talking_clip(tmp_path / "green.mp4", seconds=1.0, green_screen=True, audio=False)
    testmedia.make_talking_clip(tmp_path / "two.mp4", seconds=1.0, faces=2)
    testmedia.make_talking_clip(tmp_path / "tall.mp4", seconds=1.0, size=(144, 256))
    assert not probe(tmp_path / "green.mp4").has_audio
    assert (probe(tmp_path / "tall.mp4").width, probe(tmp_path / "tall.mp4").height) == (144, 256)

    green = next(read_frames(tmp_path / "green.mp4", size=(256, 256)))
    corners = np.concatenate([green[:64, :16].reshape(-1, 3), green[:64, -16:].reshape(-1, 3)]).astype(int)
    assert np.median(np.abs(corners - np.array(testmedia.CHROMA_GREEN_BGR)).max(axis=1)) < 12

    two = next(read_frames(tmp_path / "two.mp4", size=(256, 256)))
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as det:
        faces = det.process(cv2.cvtColor(two, cv2.COLOR_BGR2RGB)).detections or []
    assert len(faces) == 2


def test_still_clip_and_corrupt_file(tmp_path):
    still = testmedia.make_still_clip(tmp_path / "still.mp4", 2.0)
    info = probe(still)
    assert info.error is None and info.has_audio and abs(info.duration_s - 2.0) < 0.1
    assert not track_video(still).found.any()

    bad = testmedia.corrupt_file(tmp_path / "bad.mp4")
    assert probe(bad).error
