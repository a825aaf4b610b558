"""Photo digital human: accuracy of the photo check (synthesis.photo.check_photo) on ../shared/media/photo
against the expected outcomes of its README (pass = accepted, warnings allowed; reject = any failing rule),
and the time per photo (the first call loads the mediapipe models and is reported apart).

Usage: .venv/bin/python benchmarks/photo_detection.py [--previews DIR]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import emit, exit_on_sigterm, percentile  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "media" / "photo"
# name -> (expected accepted, hard case)
EXPECTED = {
    "man_frontal_mouth_open.jpg": (True, False),
    "woman_frontal_mouth_open.jpg": (True, False),
    "woman_frontal_1145.jpg": (True, False),
    "man_halfbody_1024x1536.png": (True, False),
    "man_bw_2048.jpg": (True, False),
    "man_bw_small_375x500.jpg": (True, False),
    "man_looking_up_side.jpg": (False, False),
    "multi_face_1000x667.jpg": (False, False),
    "dog.jpg": (False, False),
    "cartoon_boy_3d.jpg": (False, True),
    "painting_mona_lisa.jpg": (False, True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=Path, help="write each photo's marked-up preview here")
    args = parser.parse_args()
    exit_on_sigterm()
    if not PHOTOS.is_dir():
        emit({"figure": "photo_detection", "skipped": f"{PHOTOS} not present"}, f"skipped: {PHOTOS} not present")
        return 0
    from synthesis.photo.detect import check_photo

    rows, times = [], []
    for name, (expected, hard) in EXPECTED.items():
        path = PHOTOS / name
        if not path.is_file():
            continue
        preview = args.previews / f"{path.stem}.png" if args.previews else None
        start = time.perf_counter()
        report = check_photo(path, preview_path=preview)
        times.append(time.perf_counter() - start)
        row = {
            "photo": name,
            "expected": "pass" if expected else "reject",
            "got": "pass" if report.passed else "reject",
            "correct": report.passed == expected,
            "hard": hard,
            "failing": report.failed_rules,
            "warnings": [r.rule for r in report.rules if r.status == "warn"],
            "pose": report.pose,
            "photo_confidence": report.photo_confidence,
            "seconds": round(times[-1], 3),
        }
        rows.append(row)
        print(f"  {name:32s} expected {row['expected']:6s} got {row['got']:6s} "
              f"{'ok ' if row['correct'] else 'BAD'} fail={row['failing']} warn={row['warnings']} "
              f"{row['seconds']:.2f}s", flush=True)  # fmt: skip
    correct = sum(r["correct"] for r in rows)
    easy = [r for r in rows if not r["hard"]]
    warm = times[1:] or times
    figure = {
        "figure": "photo_detection",
        "photos": len(rows),
        "accuracy": round(correct / len(rows), 3) if rows else None,
        "accuracy_without_hard": round(sum(r["correct"] for r in easy) / len(easy), 3) if easy else None,
        "first_call_s": round(times[0], 3) if times else None,
        "median_s": round(percentile(warm, 50), 3),
        "max_s": round(max(warm), 3) if warm else None,
        "per_photo": rows,
    }
    emit(figure, f"photo check: {correct}/{len(rows)} as expected ({figure['accuracy_without_hard']:.0%} without the "
         f"hard cases); {figure['median_s']:.2f} s median per photo, first call {figure['first_call_s']:.2f} s "
         "(model loading)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
