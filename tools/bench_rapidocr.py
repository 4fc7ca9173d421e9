"""RapidOCR (Python, rapidocr_onnxruntime) timed the way `ocr_bench` times our engine.

Run by scripts/bench-ocr inside its own venv:
    python tools/bench_rapidocr.py --threads 2 --reps 2 --out result.json IMAGE...

Images are read into memory first (decode is timed, disk I/O is not); models load once; one
warm-up pass; then `reps` timed passes. Per image the median over the passes is kept.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import cv2  # noqa: E402

    cv2.setNumThreads(args.threads)
    from rapidocr_onnxruntime import RapidOCR  # noqa: E402

    engine = RapidOCR(intra_op_num_threads=args.threads, inter_op_num_threads=1)
    data = [open(p, "rb").read() for p in args.images]
    for b in data:  # warm-up pass
        engine(b)
    per_image = [[] for _ in data]
    for _ in range(args.reps):
        for i, b in enumerate(data):
            t = time.perf_counter()
            engine(b)
            per_image[i].append(time.perf_counter() - t)
    lat = [statistics.median(x) * 1e3 for x in per_image]
    result = {
        "engine": "rapidocr_onnxruntime",
        "latency_ms": lat,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
