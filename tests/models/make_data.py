#!/usr/bin/env python3
"""Writes the accuracy suite's data sets (tests/models/textgen.py), deterministic from fixed seeds.

    .venv/bin/python tests/models/make_data.py OUT_DIR [--rec 200,200] [--det 40,40] [--cls 100,200] [--mnv2 50,100] [--npy]

Per model, ``<model>_calib.npz`` and ``<model>_eval.npz`` with ``x`` (N x 1 x C x H x W
float32, preprocessed as the model expects) and, for rec and cls, ``labels``
(the rendered texts; the true direction class, 0 upright or 1 turned 180).
``--npy`` also writes one ``.npy`` per calibration sample into
``<model>_calib/`` for the command-line tool (``mixq analyze / tune / build
--calib-data``). Calibration and evaluation sets use different seeds,
so their texts and pictures differ.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Dict, Tuple

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import textgen  # noqa: E402

SEEDS = {"calib": 1, "eval": 2}  # per split; each model offsets them differently


def make(model: str, split: str, count: int) -> Dict[str, np.ndarray]:
    seed = SEEDS[split]
    if model == "rec":
        x, labels = textgen.rec_lines(count, seed=100 + seed)
        return {"x": x, "labels": np.array(labels)}
    if model == "det":
        return {"x": textgen.det_pages(count, seed=200 + seed)}
    if model == "cls":
        x, classes = textgen.cls_lines(count, seed=300 + seed)
        return {"x": x, "labels": classes}
    if model == "mnv2":
        return {"x": textgen.scenes(count, seed=400 + seed)}
    raise ValueError(f"unknown model {model!r}")


def load_or_make(out: pathlib.Path, model: str, split: str, count: int) -> Dict[str, np.ndarray]:
    """The set from OUT when it is there with at least ``count`` samples (the first ``count``), else made and saved.

    The generators draw sample by sample from one stream, so the first N of a
    larger set are exactly the set of size N.
    """
    path = out / f"{model}_{split}.npz"
    if path.is_file():
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
        if len(data["x"]) >= count:
            return {k: v[:count] for k, v in data.items()}
    data = make(model, split, count)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return data


def parse_counts(text: str) -> Tuple[int, int]:
    calib, evaluation = (int(v) for v in text.split(","))
    return calib, evaluation


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--rec", default="200,200", help="calibration,evaluation line counts")
    parser.add_argument("--det", default="40,40", help="calibration,evaluation page counts")
    parser.add_argument("--cls", default="100,200", help="calibration,evaluation line counts (direction classifier)")
    parser.add_argument("--mnv2", default="50,100", help="calibration,evaluation picture counts (MobileNetV2)")
    parser.add_argument("--npy", action="store_true", help="also one .npy per calibration sample, for the CLI")
    args = parser.parse_args()
    for model in ("rec", "det", "cls", "mnv2"):
        for split, count in zip(("calib", "eval"), parse_counts(getattr(args, model))):
            data = load_or_make(args.out, model, split, count)
            print(f"{model}_{split}: {len(data['x'])} samples of {data['x'].shape[1:]}")
            if args.npy and split == "calib":
                folder = args.out / f"{model}_calib"
                folder.mkdir(parents=True, exist_ok=True)
                for i, x in enumerate(data["x"]):
                    np.save(folder / f"{i:04d}.npy", x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
