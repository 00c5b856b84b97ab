#!/usr/bin/env python3
"""Peak resident memory (RSS) of one process that loads a model and runs it
a few times: mixq (`mixq bench`, a C++ process), ONNX Runtime and OpenVINO
(each in a fresh Python process). Python's own share is measured too (the
interpreter with numpy and the engine imported, no model) and given beside,
so the engines can be compared without it. Batch 1, 1 thread, MB.

    .venv-bench/bin/python bench/peak_rss.py [--models resnet50,mobilenetv2]

Needs the models of scripts/fetch_models and the builds compare_engines.py
makes (build/bench_models/<model>_f32.mixq, _i8.mixq): run it first.
"""
import argparse
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = {  # name: (file, input name, dims)
    "resnet50": ("resnet50.onnx", "input", "1x3x224x224"),
    "mobilenetv2": ("mobilenetv2.onnx", "input", "1x3x224x224"),
    "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", "x", "1x3x320x320"),
    "ppocr_rec": ("ch_PP-OCRv4_rec_infer.onnx", "x", "1x3x48x320"),
}

PY_RUN = """
import sys, numpy as np
engine, path, name, dims = sys.argv[1], sys.argv[2], sys.argv[3], [int(d) for d in sys.argv[4].split('x')]
x = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
if engine == 'ort':
    import onnxruntime as ort
    if path != '-':
        o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
        s = ort.InferenceSession(path, o, providers=['CPUExecutionProvider'])
        for _ in range(3): s.run(None, {name: x})
else:
    import openvino as ov
    if path != '-':
        core = ov.Core()
        c = core.compile_model(path, 'CPU', {'INFERENCE_NUM_THREADS': 1, 'INFERENCE_PRECISION_HINT': 'f32'})
        r = c.create_infer_request()
        for _ in range(3): r.infer({name: x})
"""


def peak_mb(command):
    """Peak RSS of the child running `command`, in MB (wait4's ru_maxrss is in kB)."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise RuntimeError(f"{command[:3]} failed: {child.stderr.read().decode()[-400:]}")
    return usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    build = pathlib.Path(os.environ.get("MIXQ_BUILD_DIR", ROOT / "build"))
    models_dir = pathlib.Path(os.environ.get("MIXQ_MODEL_DIR", ROOT / ".cache" / "models"))
    mixq = build / "tools" / "mixq"
    py = [sys.executable, "-c", PY_RUN]
    base_ort = peak_mb(py + ["ort", "-", "x", "1"])
    base_ov = peak_mb(py + ["ov", "-", "x", "1"])
    print(f"peak RSS, MB, 1 thread, batch 1 (Python + numpy + engine imported, no model: ORT {base_ort:.0f}, "
          f"OpenVINO {base_ov:.0f})")
    print(f"{'model':<12} {'weights':>8} | {'mixq f32':>9} {'mixq i8':>8} | {'ORT f32':>8} {'- py':>6} | "
          f"{'OV f32':>7} {'- py':>6} | {'mixq/ORT-py':>11}")
    for key in args.models.split(","):
        file, name, dims = MODELS[key]
        onnx_path = models_dir / file
        f32, i8 = build / "bench_models" / f"{key}_f32.mixq", build / "bench_models" / f"{key}_i8.mixq"
        weights = f32.stat().st_size / 1e6 / 1.048576
        run = [str(mixq), "bench", "--threads", "1", "--warmup", "1", "--iterations", "2"]
        m_f32 = peak_mb(run + [str(f32)])
        m_i8 = peak_mb(run + [str(i8)])
        o = peak_mb(py + ["ort", str(onnx_path), name, dims])
        v = peak_mb(py + ["ov", str(onnx_path), name, dims])
        print(f"{key:<12} {weights:>8.1f} | {m_f32:>9.0f} {m_i8:>8.0f} | {o:>8.0f} {o - base_ort:>6.0f} | "
              f"{v:>7.0f} {v - base_ov:>6.0f} | {m_f32 / (o - base_ort):>11.2f}", flush=True)


if __name__ == "__main__":
    main()
