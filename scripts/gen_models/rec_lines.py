#!/usr/bin/env python3
"""Writes rendered text lines as .npy samples for PP-OCR rec (1x3x48x320, normalised to [-1, 1]),
one file per line, for `mixq analyze` / `mixq tune` (docs/accuracy.md):

    .venv/bin/python scripts/gen_models/rec_lines.py OUT_DIR [COUNT]
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "python"))
from text_image import page, to_nchw  # noqa: E402  (the tests' NumPy text renderer)

WORDS = ["HELLO WORLD", "MIXQ 2024", "TEXT LINE", "QUANTIZE", "NORTH STAR", "RED TOMATO", "SIMPLE TEST",
         "MODEL 1024", "HALF WIDTH", "LOW POWER", "DATA SET", "WORD MATCH", "TRAIN 42", "MAX WIDTH", "REST AREA",
         "TIME 10 2"]


def main():
    out = pathlib.Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else len(WORDS)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        # Only the glyphs the renderer has.
        text = "".join(c for c in WORDS[i % len(WORDS)] if c in "ABCDEHILMNOPQRSTWX0124 ")
        np.save(out / f"{i:03d}.npy", to_nchw(page(48, 320, [(text, 4, 10, 8)], seed=i), [0.5] * 3, [0.5] * 3))


if __name__ == "__main__":
    main()
