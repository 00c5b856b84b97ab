#!/usr/bin/env python3
"""mixq's steps against OpenVINO's layers on one ONNX model, interleaved, same CPU.

Per round: 40 OpenVINO inferences with PERF_COUNT (each layer's fastest
time kept) and one `mixq bench --profile-json` of the model file built from
the same ONNX (each step's fastest). Prints both engines' fastest latency,
the sums of per-layer minima grouped by layer type and implementation
(OpenVINO: type:exec_type; mixq: op:kernel), and with CONVS=1 the
convolutions side by side in execution order (the two graphs mostly keep
the ONNX model's order; a residual block's shortcut may swap places).
OpenVINO's per-layer times carry its profiling's cost: their sum exceeds
its latency, so compare latencies for the verdict and layers for where.
Where mixq's bfloat16 rows trail OpenVINO's default (bfloat16 on CPUs with
AVX512_BF16 / AMX), this says which layers:

  taskset -c 1 .venv-bench/bin/python bench/versus_openvino_steps.py .cache/models/ch_PP-OCRv4_rec_infer.onnx \\
      build/bench_models/ppocr_rec_bf16.mixq 1x3x48x320 1 3
  PREC=f32 CONVS=1 .venv-bench/bin/python bench/versus_openvino_steps.py MODEL.onnx MODEL_f32.mixq 1x3x224x224 2 3

Arguments: ONNX MIXQ_MODEL INPUT_DIMS THREADS ROUNDS. Environment: PREC
(OpenVINO's INFERENCE_PRECISION_HINT, e.g. f32; unset: its default), MIXQ
(the binary, build/tools/mixq), CONVS=1.
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import openvino as ov


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    onnx_path, mixq_model, dims, threads, rounds = sys.argv[1:6]
    mixq = os.environ.get("MIXQ", "build/tools/mixq")
    config = {"INFERENCE_NUM_THREADS": int(threads), "PERF_COUNT": True, "NUM_STREAMS": 1}
    if os.environ.get("PREC"):
        config["INFERENCE_PRECISION_HINT"] = os.environ["PREC"]
    core = ov.Core()
    compiled = core.compile_model(core.read_model(onnx_path), "CPU", config)
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).random([int(d) for d in dims.split("x")], dtype=np.float32)
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    ov_layers, mixq_steps = {}, {}
    ov_latency, mixq_latency = [], []
    for _ in range(int(rounds)):
        for _ in range(40):
            start = time.perf_counter()
            request.infer({0: x})
            ov_latency.append((time.perf_counter() - start) * 1e3)
            for p in request.profiling_info:
                ms = p.real_time.total_seconds() * 1e3
                kind = f"{p.node_type}:{p.exec_type}"
                if p.node_name not in ov_layers or ms < ov_layers[p.node_name][0]:
                    ov_layers[p.node_name] = (ms, kind)
        out = subprocess.run([mixq, "bench", mixq_model, "--threads", threads, "--iterations", "40", "--profile-json",
                              profile], capture_output=True, text=True, check=True).stdout
        mixq_latency += [float(m) for m in re.findall(r"latency ms: min ([0-9.]+)", out)]
        for s in json.load(open(profile))["steps"]:
            kind = f"{s['op']}:{s.get('kernel') or ''}"
            if s["node"] not in mixq_steps or s["min_ms"] < mixq_steps[s["node"]][0]:
                mixq_steps[s["node"]] = (s["min_ms"], kind)
    print(f"fastest latency ms: OpenVINO {min(ov_latency):.3f}  mixq {min(mixq_latency):.3f}")
    for name, layers in (("OpenVINO", ov_layers), ("mixq", mixq_steps)):
        groups = collections.defaultdict(lambda: [0.0, 0])
        for ms, kind in layers.values():
            groups[kind][0] += ms
            groups[kind][1] += 1
        print(f"{name}: sum of per-layer minima {sum(ms for ms, _ in layers.values()):.3f} ms")
        for kind, (ms, count) in sorted(groups.items(), key=lambda kv: -kv[1][0])[:14]:
            print(f"  {kind:52s} {ms:7.3f} {count:3d}")
    if os.environ.get("CONVS"):
        ov_convs = []
        for op in compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            if "layerType" in info and info["layerType"].astype(str) == "Convolution":
                name = op.get_friendly_name()
                ov_convs.append((name, ov_layers.get(name, (0.0, ""))[0], str(op.output(0).get_partial_shape())))
        mixq_convs = [(n, v) for n, v in mixq_steps.items() if v[1].startswith("Conv2D:")]
        print(f"{'OpenVINO layer':24s} {'output':18s} {'ms':>6s} | {'mixq step':18s} {'kernel':18s} {'ms':>6s} ratio")
        for (on, oms, shape), (mn, (mms, kind)) in zip(ov_convs, mixq_convs):
            ratio = mms / oms if oms > 0 else 0.0
            print(f"{on[:24]:24s} {shape[:18]:18s} {oms:6.3f} | {mn[:18]:18s} {kind[7:][:18]:18s} {mms:6.3f} {ratio:5.2f}")


if __name__ == "__main__":
    main()
