"""Time to the first audio chunk over the synchronous TTS WebSocket (goal: <= 150 ms).

One `runplatform` process on loopback; a client with an X-Auth-Token opens `/v1/{project_id}/ttsc/ws` once per
voice and sends a multi-sentence text ROUNDS times. Measured per round: from sending the request to receiving the
first chunk's header (the first audio frame follows it at once), and to the end of the whole text.

Baselines in the same run, on the same socket:
* `error_roundtrip`: a request refused by validation (unknown voice) - the socket, authentication, rate limit and
  request parsing without synthesis. The first-chunk time minus this is what synthesis of one sentence adds.
* `in_process_first_chunk`: `synthesis.speech.synth.stream` in this process (no server): the engine alone.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

ROUNDS = 15
GOAL_MS = 150.0
ENGLISH = ("Welcome to the digital content studio. Today we show the new speech engine. "
           "It streams audio sentence by sentence. The first words play before the rest is ready.")
# The same text with a clause pause in its first sentence: the stream's first chunk is the lead phrase.
ENGLISH_COMMA = ("Good morning and welcome, this is the digital content studio. Today we show the new speech engine. "
                 "It streams audio sentence by sentence.")
CASES = {  # label: (voice, text)
    "espeak-cmn-f": ("espeak-cmn-f", "欢迎来到数字内容生产线。今天我们介绍新的语音合成功能。它支持中文和英文混合朗读。"
                                     "每一句话都会先合成先播放。"),
    "espeak-en-us-f": ("espeak-en-us-f", ENGLISH),
    "piper-en-us-joe": ("piper-en-us-joe", ENGLISH),
    "piper-en-us-joe, comma in the first sentence": ("piper-en-us-joe", ENGLISH_COMMA),
}


def make_fixture() -> dict:
    from tenancy import actions
    from tenancy.audit import Actor
    from tests.factories import make_tenant

    tenant = make_tenant(name="bench-tts-ws")
    _, token = actions.issue_token(Actor.system(tenant.account), tenant.owner, tenant.project)
    return {"project_id": tenant.project_id, "token": token}


async def measure_voice(port: int, fixture: dict, voice: str, text: str, rounds: int) -> dict:
    import websockets

    url = f"ws://{common.LOOPBACK}:{port}/v1/{fixture['project_id']}/ttsc/ws"
    first, total, errors = [], [], []
    async with websockets.connect(url, additional_headers={"X-Auth-Token": fixture["token"]},
                                  max_size=None, open_timeout=10) as socket:
        request = json.dumps({"text": text, "voice_asset_id": voice, "sample_rate": 16000})
        refused = json.dumps({"text": "x", "voice_asset_id": "no-such-voice"})
        for number in range(rounds + 2):  # two warm-up rounds (engine and voice load)
            started = time.perf_counter()
            await socket.send(refused)
            json.loads(await asyncio.wait_for(socket.recv(), 10))
            error_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await socket.send(request)
            first_ms = None
            while True:
                message = await asyncio.wait_for(socket.recv(), 60)
                if isinstance(message, str):
                    data = json.loads(message)
                    if data["type"] == "chunk" and first_ms is None:
                        first_ms = (time.perf_counter() - started) * 1000
                    if data["type"] == "end":
                        break
                    if data["type"] == "error":
                        raise RuntimeError(data)
            if number >= 2:
                first.append(first_ms)
                total.append((time.perf_counter() - started) * 1000)
                errors.append(error_ms)
    return {"first_chunk_p50_ms": round(statistics.median(first), 1),
            "first_chunk_max_ms": round(max(first), 1),
            "whole_text_p50_ms": round(statistics.median(total), 1),
            "error_roundtrip_p50_ms": round(statistics.median(errors), 1)}


def in_process_first_chunk(voice: str, text: str, rounds: int) -> float:
    from synthesis.speech import synth
    from synthesis.speech.types import SynthesisOptions

    timings = []
    for number in range(rounds + 2):
        started = time.perf_counter()
        next(synth.stream(text, voice_id=voice, options=SynthesisOptions(sample_rate=16000), ssml=False))
        if number >= 2:
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    common.exit_on_sigterm()
    with common.temp_data_dir("tts-ws") as data_dir, common.Processes() as processes:
        env = common.base_env(data_dir, METASTUDIO_RATE_LIMIT_ENABLED="false")
        common.setup_django(env)
        from django.db import connections

        common.migrate()
        fixture = make_fixture()
        connections.close_all()
        port = common.free_port()
        common.start_platform(processes, env, port, data_dir / "server.log")
        voices = {}
        for label, (voice, text) in CASES.items():
            figures = asyncio.run(measure_voice(port, fixture, voice, text, args.rounds))
            figures["in_process_first_chunk_p50_ms"] = in_process_first_chunk(voice, text, args.rounds)
            figures["synthesis_share_ms"] = round(figures["first_chunk_p50_ms"] - figures["error_roundtrip_p50_ms"], 1)
            voices[label] = figures
        worst = max(figures["first_chunk_p50_ms"] for figures in voices.values())
        result = {"figure": "tts_first_chunk", "setup": "one runplatform process, loopback WebSocket, 16 kHz",
                  "rounds": args.rounds, "voices": voices, "worst_first_chunk_p50_ms": worst, "goal_ms": GOAL_MS,
                  "met": worst <= GOAL_MS}
        lines = [f"{voice}: first chunk {f['first_chunk_p50_ms']} ms p50 (max {f['first_chunk_max_ms']}), "
                 f"error round trip {f['error_roundtrip_p50_ms']} ms, engine alone {f['in_process_first_chunk_p50_ms']}"
                 f" ms, whole text {f['whole_text_p50_ms']} ms" for voice, f in voices.items()]
        common.emit(result, "\n".join(lines) + f"\nworst p50 {worst} ms vs goal {GOAL_MS:g} ms: "
                    f"{'met' if result['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
