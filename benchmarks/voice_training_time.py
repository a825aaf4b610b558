"""Training time of a BASIC voice (20 prompted sentences) through the real job handler on this machine.

In-process: a throwaway data dir, a tenant, a BASIC job whose 20 recordings are read by a test speaker
(espeak, tests/voice_samples.py), submitted, audited and approved; then the training job runs in this
process (`metastudio.jobs.run`), as a worker would run it. Goal: under 3 minutes on 2 cores.

Baselines in the same run: the duration of the recorded speech (training time as a real-time factor), and
the time the base voice needs just to read the 20 prompts (the part of training that is plain TTS).
"""

import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

GOAL_SECONDS = 180.0


def main() -> int:
    common.exit_on_sigterm()
    with common.temp_data_dir("voice-train") as data_dir:
        env = common.base_env(data_dir, METASTUDIO_VOICE_CHECK_ASR="false")
        common.setup_django(env)
        common.migrate()
        from metastudio import jobs
        from synthesis.speech import clone, synth
        from synthesis.speech.types import SynthesisOptions
        from tenancy.audit import Actor
        from tests import voice_samples as vs
        from tests.factories import make_tenant
        from voices import actions
        from voices.models import VoiceTrainingJob

        tenant = make_tenant(name="bench-voice-train")
        actor = Actor.system(tenant.account)
        job = actions.create_training_job(actor, tenant.account, tier="BASIC", voice_name="bench", language="en",
                                          project=tenant.project)
        with tempfile.TemporaryDirectory() as folder:
            package = Path(folder) / "set.zip"
            package.write_bytes(vs.recordings_zip(job.prompts))
            actions.upload_package(actor, job, package, "set.zip", Path(folder))
        actions.upload_authorization_letter(actor, job, vs.PDF_LETTER, "letter.pdf")
        job = actions.submit(actor, job)
        jobs.run(str(job.engine_job_id))
        job.refresh_from_db()
        actions.review(actor, job, approved=True)
        job.refresh_from_db()
        speech_seconds = sum(recording.metrics.get("duration", 0) for recording in job.recordings.all())

        started = time.perf_counter()
        outcome = jobs.run(str(job.engine_job_id))
        training = time.perf_counter() - started
        job = VoiceTrainingJob.objects.get(pk=job.pk)

        base_voice = clone.default_base_voice("en")
        started = time.perf_counter()
        for text in job.prompts:
            synth.synthesize(text, voice_id=base_voice, options=SynthesisOptions(sample_rate=16000), ssml=False)
        base_reading = time.perf_counter() - started

    result = {"figure": "voice_training_time", "tier": "BASIC", "sentences": 20, "outcome": outcome,
              "state": job.state, "training_s": round(training, 1), "speech_s": round(speech_seconds, 1),
              "training_rtf": round(training / max(speech_seconds, 0.01), 2),
              "base_reading_s": round(base_reading, 1), "base_voice": base_voice, "goal_s": GOAL_SECONDS,
              "met": outcome == "done" and training < GOAL_SECONDS}
    common.emit(result, f"BASIC voice (20 sentences, {result['speech_s']} s of speech): trained in "
                        f"{result['training_s']} s ({result['training_rtf']}x the speech; the base voice alone "
                        f"reads the prompts in {result['base_reading_s']} s) vs goal {GOAL_SECONDS:g} s: "
                        f"{'met' if result['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
