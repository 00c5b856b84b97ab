"""The post-training transforms on ResNet-50 (mixq gen_cnn, random weights, in .cache/models/resnet50.onnx):
top-1 agreement and output SQNR against float32 on the suite's MobileNetV2 pictures (50 calibration,
100 evaluation), qint8_mixed_float32 linear. Results in docs/accuracy_suite.md#post-training-transforms.

    .venv/bin/python tests/models/ptq_resnet50.py
"""
from __future__ import annotations

import pathlib
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402
import suite  # noqa: E402


def main() -> int:
    data = HERE.parents[1] / "build" / "accuracy_data"
    calib = list(make_data.load_or_make(data, "mnv2", "calib", 50)["x"])
    evals = list(make_data.load_or_make(data, "mnv2", "eval", 100)["x"])
    onnx = suite.models_dir() / "resnet50.onnx"
    if not onnx.is_file():
        print(f"missing {onnx}: run scripts/fetch_models", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        mm = suite.MixqModel(onnx, "input", list(calib[0].shape), pathlib.Path(tmp))
        ref = suite.mixq_runner(mm.build("force_float32")).outputs(evals)
        r = np.concatenate([np.asarray(x, np.float64).ravel() for x in ref])
        rows = [("none", {})] + suite.PTQ_ROWS[:2] + [
            ("CLE + bias_correction", {"cross_layer_equalization": True, "bias_correction": True})]
        for name, keys in rows:
            model, transforms = suite.build_ptq(mm, "qint8_mixed_float32", keys, calib)
            out = suite.mixq_runner(model).outputs(evals)
            e = np.concatenate([np.asarray(x, np.float64).ravel() for x in out]) - r
            sqnr = 10 * np.log10((r ** 2).sum() / (e ** 2).sum())
            print(f"{name}: top-1 agreement {suite.top1_agreement(out, ref):.1f} %, output SQNR {sqnr:.2f} dB; "
                  f"{'; '.join(transforms)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
