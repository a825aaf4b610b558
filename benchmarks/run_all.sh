#!/usr/bin/env bash
# Run every benchmark; print each one's output and collect the JSON lines in benchmarks/out/results.jsonl.
# Usage: benchmarks/run_all.sh [--quick]   (--quick: fewer iterations, no --redis / --http variants)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=benchmarks/out
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

if [ "${1:-}" = "--quick" ]; then
  RUNS=("benchmarks/api_overhead.py --iterations 200"
        "benchmarks/rate_limit_accuracy.py --phases 0,0.5"
        "benchmarks/upload_throughput.py --size-mb 128"
        "benchmarks/asset_list.py --assets 2000 --iterations 50"
        "benchmarks/tts_speed.py"
        "benchmarks/tts_first_chunk.py --rounds 5"
        "benchmarks/voice_training_time.py"
        "benchmarks/avatar_lipsync.py --track-only"
        "benchmarks/avatar_speed.py --seconds 12"
        "benchmarks/photo_detection.py"
        "benchmarks/talking_photo.py"
        "benchmarks/compose_render.py --seconds 60 --no-baseline"
        "benchmarks/video_render.py --no-baseline")
else
  RUNS=("benchmarks/api_overhead.py --http"
        "benchmarks/rate_limit_accuracy.py"
        "benchmarks/upload_throughput.py"
        "benchmarks/asset_list.py"
        "benchmarks/tts_speed.py"
        "benchmarks/tts_first_chunk.py"
        "benchmarks/tts_intelligibility.py"
        "benchmarks/voice_training_time.py"
        "benchmarks/voice_clone.py"
        "benchmarks/avatar_lipsync.py"
        "benchmarks/avatar_speed.py"
        "benchmarks/photo_detection.py"
        "benchmarks/talking_photo.py"
        "benchmarks/compose_render.py --seconds 60 600"
        "benchmarks/video_render.py --avatar both"
        "benchmarks/video_render.py --seconds 60 180 600 --no-baseline --no-sync")
  if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    RUNS+=("benchmarks/rate_limit_accuracy.py --redis")
  fi
fi

status=0
for run in "${RUNS[@]}"; do
  echo "== $run" >&2
  log="$OUT/last.log"
  # Each script stops its own servers and removes its temp dirs; the timeout is a last resort.
  timeout --signal=TERM --kill-after=15 600 $PY $run > "$log"
  rc=$?
  cat "$log"
  grep '^{' "$log" >> "$RESULTS"
  if [ $rc -ne 0 ]; then
    echo "!! $run exited with $rc" >&2
    status=1
  fi
done
rm -f "$OUT/last.log"
echo "== $(grep -c '^{' "$RESULTS") JSON lines in $RESULTS" >&2
exit $status
