#!/usr/bin/env python3
"""mixq, ONNX Runtime and OpenVINO side by side in one run: the same ONNX
models, inputs, machine and thread counts, batch 1, median latency in ms.

Rows per model and thread count:
  float32     mixq force_float32, ORT, OpenVINO (INFERENCE_PRECISION_HINT f32);
  int8 QDQ    one QDQ model made by ORT's quantize_static (per-channel s8
              weights, u8 activations, MinMax on the calibration samples),
              fed to all three engines, so all run the same quantization;
  int8 mixq   mixq qint8_mixed_float32 from its own calibration;
  16-bit      mixq force_float16 (float16 storage, float32 arithmetic),
              mixq force_bfloat16 (convolutions computed in bfloat16 where
              the CPU has AVX512_BF16 or AMX) and OpenVINO's default
              precision (bfloat16 where the CPU has AVX512_BF16 or AMX,
              float32 elsewhere).
Ratios are mixq / peer (below 1: mixq is faster). Not a test: timings on a
shared machine are noisy; read the ratios, and repeat before trusting a
difference under 20 %.

--rounds R (default 1) measures every column R times, interleaved: round r
runs each of the ten columns for N iterations, starting from column r (so
no column always runs first or last), and the table gives the median of
each column's R round medians. A machine whose speed drifts over minutes
then slows all columns alike, where one pass per column puts the drift into
the ratios. With R > 1 each ratio is the median of the R rounds' own
ratios (both columns of a round run within seconds of each other), not the
ratio of the two medians. ONNX Runtime sessions and OpenVINO compiled
models are made once per row; each mixq round is one `mixq bench` process.

--stat min takes each column's fastest run of the N instead of the median:
on a VM whose neighbours take turns at the cores (seen here: the same
binary's median moving 1.5x within minutes), the fastest run measures the
engine and the median the machine. The issues' targets are stated on
medians; min tables say so in their first line.

    bench/setup                                    # .venv-bench: current ORT + OpenVINO
    .venv-bench/bin/python bench/compare_engines.py [--iterations N] [--rounds R] [--stat median|min]
                                                    [--threads 1,2] [--models a,b]

Needs the models of scripts/fetch_models and a build (scripts/build).
"""
import argparse
import collections
import os
import pathlib
import re
import subprocess
import time

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

try:
    import openvino as ov
except ImportError:  # the table says so
    ov = None

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = {  # name: (file, input name, dims)
    "resnet50": ("resnet50.onnx", "input", (1, 3, 224, 224)),
    "mobilenetv2": ("mobilenetv2.onnx", "input", (1, 3, 224, 224)),
    "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", "x", (1, 3, 320, 320)),
    "ppocr_rec": ("ch_PP-OCRv4_rec_infer.onnx", "x", (1, 3, 48, 320)),
    "bert_layer": ("bert_layer.onnx", "x", (1, 128, 768)),
}
CALIB_SAMPLES = 8


def bert_layer(path, seq=128, hidden=768, heads=12, ffn=3072):
    """One BERT-base encoder layer (post-norm), made with the onnx helper."""
    rng = np.random.default_rng(0)
    head = hidden // heads
    init = []

    def weight(name, shape, scale):
        init.append(numpy_helper.from_array(rng.normal(0, scale, shape).astype(np.float32), name))
        return name

    def const(name, values, dtype=np.int64):
        init.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    nodes = []

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def linear(x, name, n_in, n_out):
        y = node("MatMul", [x, weight(name + "_w", (n_in, n_out), 0.02)], name + "_mm")
        return node("Add", [y, weight(name + "_b", (n_out,), 0.02)], name)

    def split_heads(x, name):
        r = node("Reshape", [x, const(name + "_shape", [1, seq, heads, head])], name + "_r")
        return node("Transpose", [r], name + "_t", perm=[0, 2, 1, 3])

    def layer_norm(x, name):
        return node("LayerNormalization", [x, weight(name + "_g", (hidden,), 1.0), weight(name + "_b", (hidden,), 0.1)],
                    name, axis=-1, epsilon=1e-12)

    q = split_heads(linear("x", "q", hidden, hidden), "qh")
    k = split_heads(linear("x", "k", hidden, hidden), "kh")
    v = split_heads(linear("x", "v", hidden, hidden), "vh")
    kt = node("Transpose", [k], "kt", perm=[0, 1, 3, 2])
    scores = node("Mul", [node("MatMul", [q, kt], "qk"), const("inv_sqrt", 1.0 / np.sqrt(head), np.float32)], "scores")
    probs = node("Softmax", [scores], "probs", axis=-1)
    ctx = node("Transpose", [node("MatMul", [probs, v], "ctx_h")], "ctx_t", perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, const("ctx_shape", [1, seq, hidden])], "ctx")
    attn = layer_norm(node("Add", [linear(ctx, "o", hidden, hidden), "x"], "res1"), "ln1")
    h = node("Gelu", [linear(attn, "ffn1", hidden, ffn)], "gelu")
    out = layer_norm(node("Add", [linear(h, "ffn2", ffn, hidden), attn], "res2"), "y")
    graph = helper.make_graph(nodes, "bert_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, hidden])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, seq, hidden])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)


def samples(dims, count, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, dims).astype(np.float32) for _ in range(count)]


def make_qdq(onnx_path, name, dims, out_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter([{name: x} for x in samples(dims, CALIB_SAMPLES, 1)])

        def get_next(self):
            return next(self.data, None)

    source = onnx.load(str(onnx_path))
    opset = next(o.version for o in source.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:  # per-channel DequantizeLinear (axis) needs opset 13
        source = onnx.version_converter.convert_version(source, 13)
    upgraded = out_path.with_suffix(".opset.onnx")
    onnx.save(source, str(upgraded))
    pre = out_path.with_suffix(".pre.onnx")
    quant_pre_process(str(upgraded), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(out_path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


# The statistic of a column's runs: "median" or "min" (--stat).
STAT = "median"


def timed(run, iterations):
    for _ in range(2):
        run()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.min(times) if STAT == "min" else np.median(times))


def ort_runner(path, name, x, threads):
    """A function of an iteration count returning the median (or --stat min: fastest) ms of that many runs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda iterations: timed(lambda: session.run(None, {name: x}), iterations)


def ov_runner(path, name, x, threads, float32):
    if ov is None:
        return lambda iterations: float("nan")
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if float32:
        config["INFERENCE_PRECISION_HINT"] = "f32"  # its CPU default is bf16 where the CPU has it
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    return lambda iterations: timed(lambda: request.infer({name: x}), iterations)


# How many mixq runs used each OpenMP spin (chosen per start: util/omp_wait_policy.h).
MIXQ_SPINS = collections.Counter()


def mixq_ms(mixq, model, name, dims, threads, iterations):
    out = subprocess.run([str(mixq), "bench", str(model), "--threads", str(threads), "--warmup", "2",
                          "--iterations", str(iterations), "--shape", f"{name}:{'x'.join(map(str, dims))}"],
                         capture_output=True, text=True, check=True).stdout
    spin = re.search(r"GOMP_SPINCOUNT=(\S+)", out)
    MIXQ_SPINS[spin.group(1) if spin else "?"] += 1
    return float(re.search(rf"{STAT} ([0-9.]+)", out).group(1))


def mixq_build(mixq, onnx_path, out, name, dims, precision, calib=None):
    command = [str(mixq), "build", str(onnx_path), "-o", str(out), "--precision", precision,
               "--input-shape", f"{name}:{'x'.join(map(str, dims))}"]
    if calib:
        command += ["--calib-data", str(calib)]
    subprocess.run(command, capture_output=True, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per column (median of their medians)")
    parser.add_argument("--stat", choices=("median", "min"), default="median",
                        help="each column's statistic of its N runs (min: the fastest)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    global STAT
    STAT = args.stat
    build = pathlib.Path(os.environ.get("MIXQ_BUILD_DIR", ROOT / "build"))
    mixq = build / "tools" / "mixq"
    models_dir = pathlib.Path(os.environ.get("MIXQ_MODEL_DIR", ROOT / ".cache" / "models"))
    work = build / "bench_models"
    work.mkdir(exist_ok=True)
    print(f"ONNX Runtime {ort.__version__}, OpenVINO {ov.__version__ if ov else 'not installed'}; "
          f"batch 1, {'fastest' if STAT == 'min' else 'median'} of {args.iterations} runs" +
          (f", median of {args.rounds} interleaved rounds" if args.rounds > 1 else "") + ", ms")
    header = (f"{'model':<12} {'thr':>3} | {'mixq f32':>9} {'ORT f32':>8} {'OV f32':>8} | {'mixq qdq':>9} "
              f"{'ORT qdq':>8} {'OV qdq':>8} | {'mixq i8':>8} | {'qdq/ORT':>8} {'qdq/OV':>8} {'i8/f32':>7} | "
              f"{'mixq f16':>8} {'f16/f32':>7} | {'mixq bf16':>9} {'OV dflt':>8} {'bf16/OV':>7}")
    print(header)
    for key in args.models.split(","):
        file, name, dims = MODELS[key]
        onnx_path = models_dir / file if key != "bert_layer" else work / file
        if key == "bert_layer" and not onnx_path.exists():
            bert_layer(onnx_path)
        calib = work / f"calib_{key}"
        calib.mkdir(exist_ok=True)
        for k, x in enumerate(samples(dims, CALIB_SAMPLES, 1)):
            np.save(calib / f"{k}.npy", x)
        qdq = work / f"{key}_qdq.onnx"
        if not qdq.exists():
            make_qdq(onnx_path, name, dims, qdq)
        m_f32, m_qdq, m_i8, m_f16, m_bf16 = (work / f"{key}_{tag}.mixq" for tag in ("f32", "qdq", "i8", "f16", "bf16"))
        mixq_build(mixq, onnx_path, m_f32, name, dims, "force_float32")
        mixq_build(mixq, onnx_path, m_f16, name, dims, "force_float16")
        mixq_build(mixq, onnx_path, m_bf16, name, dims, "force_bfloat16")
        mixq_build(mixq, qdq, m_qdq, name, dims, "qint8_mixed_float32")
        mixq_build(mixq, onnx_path, m_i8, name, dims, "qint8_mixed_float32", calib)
        x = samples(dims, 1, 7)[0]
        for threads in map(int, args.threads.split(",")):
            def mixq_runner(model):
                return lambda iterations: mixq_ms(mixq, model, name, dims, threads, iterations)

            runners = {
                "mf": mixq_runner(m_f32),
                "of": ort_runner(onnx_path, name, x, threads),
                "vf": ov_runner(onnx_path, name, x, threads, True),
                "mq": mixq_runner(m_qdq),
                "oq": ort_runner(qdq, name, x, threads),
                "vq": ov_runner(qdq, name, x, threads, False),
                "mi": mixq_runner(m_i8),
                "mh": mixq_runner(m_f16),
                "mb": mixq_runner(m_bf16),
                "vd": ov_runner(onnx_path, name, x, threads, False),
            }
            rounds = {column: [] for column in runners}
            columns = list(runners)
            for r in range(args.rounds):  # interleaved, each round starting one column later
                for column in columns[r % len(columns):] + columns[:r % len(columns)]:
                    rounds[column].append(runners[column](args.iterations))
            row = {column: float(np.median(times)) for column, times in rounds.items()}

            def ratio(a, b):  # the median of the rounds' own ratios
                return float(np.median([x / y for x, y in zip(rounds[a], rounds[b])]))

            del runners  # the sessions and compiled models of this row
            print(f"{key:<12} {threads:>3} | {row['mf']:>9.2f} {row['of']:>8.2f} {row['vf']:>8.2f} | {row['mq']:>9.2f} "
                  f"{row['oq']:>8.2f} {row['vq']:>8.2f} | {row['mi']:>8.2f} | {ratio('mq', 'oq'):>8.2f} "
                  f"{ratio('mq', 'vq'):>8.2f} {ratio('mi', 'mf'):>7.2f} | {row['mh']:>8.2f} "
                  f"{ratio('mh', 'mf'):>7.2f} | {row['mb']:>9.2f} {row['vd']:>8.2f} {ratio('mb', 'vd'):>7.2f}",
                  flush=True)
    print("mixq runs by OpenMP spin (GOMP_SPINCOUNT): " +
          ", ".join(f"{spin}: {count}" for spin, count in sorted(MIXQ_SPINS.items())))


if __name__ == "__main__":
    main()
