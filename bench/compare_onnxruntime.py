#!/ usr / bin / env python3
""
    "mixq against ONNX Runtime, side by side in one run, on the same models,
    inputs,
    machine and thread counts.Prints median latency of each and the ratio(mixq / ORT
                                                                          : below 1 means mixq is faster)
        .Not a test : timings on a shared machine are noisy; read them as ratios.

    .venv/bin/python bench/compare_onnxruntime.py [--iterations N] [--threads 1,2]
        [--precision force_float32,qint8_mixed_float32]

Quantized precisions are calibrated on 8 pseudo-random samples (fixed seed;
ranges matter for accuracy, not for speed). ORT runs the float32 model. Needs
the models of scripts/fetch_models and a build (scripts/build).
"""
import argparse
import os
import pathlib
import re
import subprocess
import time

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = {  # name: (file, input name, dims)
    "mobilenetv2": ("mobilenetv2.onnx", "input", (1, 3, 224, 224)),
    "resnet50": ("resnet50.onnx", "input", (1, 3, 224, 224)),
    "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", "x", (1, 3, 320, 320)),
    "ppocr_rec": ("ch_PP-OCRv4_rec_infer.onnx", "x", (1, 3, 48, 320)),
}


def mixq_median_ms(mixq, model, name, dims, threads, iterations, env):
    out = subprocess.run([str(mixq), "bench", str(model), "--threads", str(threads), "--warmup", "2",
                          "--iterations", str(iterations), "--shape", f"{name}:{'x'.join(map(str, dims))}"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return float(re.search(r"median ([0-9.]+)", out).group(1))


def ort_median_ms(path, name, dims, threads, iterations):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, dims).astype(np.float32)
    for _ in range(2):
        session.run(None, {name: x})
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        session.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--precision", default="force_float32",
                        help="comma-separated precision modes for mixq (ORT always runs float32)")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    build = pathlib.Path(os.environ.get("MIXQ_BUILD_DIR", ROOT / "build"))
    mixq = build / "tools" / "mixq"
    models_dir = pathlib.Path(os.environ.get("MIXQ_MODEL_DIR", ROOT / ".cache" / "models"))
    out_dir = build / "bench_models"
    out_dir.mkdir(exist_ok=True)
    precisions = args.precision.split(",")
    print(f"{'model':<12} {'threads':>7} {'ORT f32 ms':>10}  " +
          "  ".join(f"{p + ' ms':>24} {'/ORT':>6}" for p in precisions))
    for key in args.models.split(","):
        file, name, dims = MODELS[key]
        onnx_path = models_dir / file
        shape = f"{name}:{'x'.join(map(str, dims))}"
        models = {}
        for precision in precisions:
            models[precision] = out_dir / f"{key}_{precision}.mixq"
            command = [str(mixq), "build", str(onnx_path), "-o", str(models[precision]), "--precision", precision,
                       "--input-shape", shape]
            if precision.startswith("qint"):
                calib = out_dir / f"calib_{key}"
                calib.mkdir(exist_ok=True)
                rng = np.random.default_rng(1)
                for k in range(8):
                    np.save(calib / f"{k}.npy", rng.uniform(-1, 1, dims).astype(np.float32))
                command += ["--calib-data", str(calib)]
            subprocess.run(command, capture_output=True, check=True)
        for threads in map(int, args.threads.split(",")):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            o = ort_median_ms(onnx_path, name, dims, threads, args.iterations)
            cells = []
            for precision in precisions:
                m = mixq_median_ms(mixq, models[precision], name, dims, threads, args.iterations, env)
                cells.append(f"{m:>24.2f} {m / o:>6.2f}")
            print(f"{key:<12} {threads:>7} {o:>10.2f}  " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
