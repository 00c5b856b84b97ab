#!/usr/bin/env python3
"""Two runtimes on one model, interleaved round by round: what a single
side-by-side row cannot tell on a machine whose speed swings between
minutes. Each round times mixq (`mixq bench`, median of --iterations) and
then the peer (median of as many runs, compiled once); the ratio of each
round is taken within the same few seconds, and the median of the rounds'
ratios is reported.

    .venv-bench/bin/python bench/interleaved_pair.py --model resnet50 --mixq-precision force_bfloat16 \\
        --peer openvino-default [--threads 1] [--rounds 5] [--iterations 10]

Peers: openvino-default (its CPU default precision: bfloat16 where the CPU
has AVX512_BF16 / AMX), openvino-f32, ort. Uses compare_engines.py's models
and its build of the mixq file (build/bench_models/MODEL_TAG.mixq).
`--mixq-precision qdq`: every engine runs the QDQ model of compare_engines.py
(ONNX Runtime's quantize_static; mixq builds it qint8_mixed_float32), the
peer with its own default precision hints (openvino-default / ort).
"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import compare_engines as ce  # noqa: E402

TAGS = {"force_float32": "f32", "force_float16": "f16", "force_bfloat16": "bf16", "qdq": "qdq"}


def peer_runner(peer, onnx_path, name, x, threads):
    if peer == "ort":
        options = ce.ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ce.ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, {name: x})
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if peer == "openvino-f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    request = ce.ov.Core().compile_model(str(onnx_path), "CPU", config).create_infer_request()
    return lambda: request.infer({name: x})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50", choices=list(ce.MODELS))
    parser.add_argument("--mixq-precision", default="force_bfloat16", choices=list(TAGS))
    parser.add_argument("--peer", default="openvino-default", choices=["openvino-default", "openvino-f32", "ort"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    build = pathlib.Path(ce.os.environ.get("MIXQ_BUILD_DIR", ce.ROOT / "build"))
    mixq = build / "tools" / "mixq"
    models_dir = pathlib.Path(ce.os.environ.get("MIXQ_MODEL_DIR", ce.ROOT / ".cache" / "models"))
    work = build / "bench_models"
    work.mkdir(exist_ok=True)
    file, name, dims = ce.MODELS[args.model]
    onnx_path = models_dir / file if args.model != "bert_layer" else work / file
    if args.model == "bert_layer" and not onnx_path.exists():
        ce.bert_layer(onnx_path)
    model = work / f"{args.model}_{TAGS[args.mixq_precision]}.mixq"
    if args.mixq_precision == "qdq":
        qdq = work / f"{args.model}_qdq.onnx"
        if not qdq.exists():
            ce.make_qdq(onnx_path, name, dims, qdq)
        onnx_path = qdq
        ce.mixq_build(mixq, onnx_path, model, name, dims, "qint8_mixed_float32")
    else:
        ce.mixq_build(mixq, onnx_path, model, name, dims, args.mixq_precision)
    x = ce.samples(dims, 1, 7)[0]
    run_peer = peer_runner(args.peer, onnx_path, name, x, args.threads)
    ratios = []
    print(f"{args.model}, {args.threads} thread(s): mixq {args.mixq_precision} against {args.peer}, "
          f"median of {args.iterations} runs each, ms")
    for r in range(args.rounds):
        m = ce.mixq_ms(mixq, model, name, dims, args.threads, args.iterations)
        p = ce.timed(run_peer, args.iterations)
        ratios.append(m / p)
        print(f"round {r + 1}: mixq {m:8.2f}  peer {p:8.2f}  ratio {m / p:5.2f}", flush=True)
        time.sleep(0.2)
    print(f"median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
