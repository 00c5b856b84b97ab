#!/usr/bin/env python3
"""mixq from Python in a page: quantize an ONNX model to int8 with a folder of
calibration samples, save it, run it, and see what int8 cost against float32.

    .venv/bin/python examples/python_quickstart.py MODEL.onnx CALIB_DIR OUT.mixq

CALIB_DIR holds one .npy file per sample (a one-input model) or one .npz file
per sample with an array per input name (np.savez(path, x=..., y=...)).
"""
import pathlib
import sys

import numpy as np

import mixq


def load_samples(folder: pathlib.Path):
    """Samples in file-name order: arrays from .npy files, {name: array} dicts from .npz files."""
    for path in sorted(folder.iterdir()):
        if path.suffix == ".npy":
            yield np.load(path)
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                yield {name: arrays[name] for name in arrays.files}


def main(onnx_path: str, calib_dir: str, out_path: str) -> int:
    # 1. Import, calibrate (min/max over the samples) and build an int8 model.
    model = mixq.quantize(onnx_path, load_samples(pathlib.Path(calib_dir)), precision_mode="qint8_mixed_float32",
                          algo="linear", weight_quant_granularity="per_axis")
    model.serialize_to_file(out_path)
    print(f"wrote {out_path}: {model.get_weight_bytes()} bytes of weights")

    # 2. Which precision every operator runs in, and with which kernel.
    print(model.get_precision_report())

    # 3. Run it like ONNX Runtime, next to the float32 build of the same ONNX file.
    int8 = mixq.Session(out_path)
    float32 = mixq.Session(onnx_path)
    feed = next(load_samples(pathlib.Path(calib_dir)))
    if not isinstance(feed, dict):
        feed = {int8.get_inputs()[0].name: feed}
    for output, got, want in zip(int8.get_outputs(), int8.run(None, feed), float32.run(None, feed)):
        error = float(np.abs(got.astype(np.float64) - want).max())
        print(f"output {output.name}: shape {list(got.shape)}, max |int8 - float32| = {error:.4g} "
              f"(float32 values up to {float(np.abs(want).max()):.4g})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
