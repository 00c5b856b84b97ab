"""The `mixq` command-line tool, end to end on small ONNX models made here.

Numbers are checked against ONNX Runtime and NumPy: `mixq run` outputs, the
precisions `mixq inspect` reports, the metrics `mixq compare` prints. Bad
command lines and bad files must exit non-zero with exactly one line on stderr.
"""
import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

VERBS = ["build", "run", "bench", "inspect", "compare", "analyze", "tune", "export-onnx"]


def small_cnn(path):
    """x [N,3,8,8] -> Conv 3x3 pad 1 (4 ch) -> Relu -> MaxPool 2 -> Flatten -> Gemm (5) -> Softmax."""
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 0.3, (5, 64)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 5).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["conv"], name="conv", kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["prob/softmax"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(nodes, "small_cnn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("prob/softmax", TensorProto.FLOAT, ["N", 5]),
                               helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def two_inputs(path):
    """a [2,3], b [2,3] -> (a - b) * a: the inputs must not be swapped."""
    nodes = [helper.make_node("Sub", ["a", "b"], ["d"], name="sub"), helper.make_node("Mul", ["d", "a"], ["y"], name="mul")]
    graph = helper.make_graph(nodes, "two_inputs",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("a", "b")],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def ort_run(onnx_path, feeds):
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def assert_one_line_error(proc, code=None):
    assert proc.returncode != 0
    if code is not None:
        assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mixq") and "error:" in lines[0], lines[0]


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    return small_cnn(tmp_path_factory.mktemp("onnx") / "small_cnn.onnx")


@pytest.fixture(scope="module")
def cnn_f32(build_dir, cnn, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "small_cnn_f32.mixq"
    run_mixq(build_dir, "build", cnn, "-o", out)
    return out


@pytest.fixture(scope="module")
def cnn_q8_dynamic(build_dir, cnn, tmp_path_factory):
    d = tmp_path_factory.mktemp("q8")
    cfg = d / "cfg.json"
    cfg.write_text(json.dumps({"precision_config": {"activation_quant_mode": "dynamic",
                                                    "weight_quant_granularity": "per_axis"}}))
    out = d / "small_cnn_q8.mixq"
    run_mixq(build_dir, "build", cnn, "-o", out, "--precision", "qint8_mixed_float32", "--config", cfg)
    return out


def test_help_for_every_verb(build_dir):
    for verb in VERBS:
        proc = run_mixq(build_dir, verb, "--help")
        assert proc.stdout.startswith(f"usage: mixq {verb} "), proc.stdout
        assert "--help" in proc.stdout and proc.stderr == ""
    top = run_mixq(build_dir, "--help")
    assert all(verb in top.stdout for verb in VERBS)


def test_run_matches_onnxruntime(build_dir, cnn, cnn_f32, tmp_path):
    x = np.random.default_rng(1).normal(size=(3, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = run_mixq(build_dir, "run", cnn_f32, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    want = ort_run(cnn, {"x": x})
    assert set(want) == {"prob/softmax", "logits"}
    for name, ref in want.items():
        got = np.load(tmp_path / "out" / file_name_for(name))
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
        assert name in proc.stdout
    assert (tmp_path / "out" / "prob_softmax.npy").is_file()  # '/' cannot be in a file name


def test_run_takes_inputs_by_name(build_dir, tmp_path):
    model = tmp_path / "two.mixq"
    run_mixq(build_dir, "build", two_inputs(tmp_path / "two.onnx"), "-o", model)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 0.5, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b.astype(np.float16))  # converted to the model's float32
    # Given in the opposite order to the model's inputs.
    run_mixq(build_dir, "run", model, "-i", f"b={tmp_path / 'b.npy'}", "-i", f"a={tmp_path / 'a.npy'}", "-o", tmp_path)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), (a - b) * a)
    # A one-file --input is ambiguous with two inputs; a missing input is named.
    assert_one_line_error(run_mixq(build_dir, "run", model, "-i", tmp_path / "a.npy", "-o", tmp_path, check=False), 2)
    proc = run_mixq(build_dir, "run", model, "-i", f"a={tmp_path / 'a.npy'}", "-o", tmp_path, check=False)
    assert_one_line_error(proc, 2)
    assert "'b'" in proc.stderr


def test_inspect_lists_tensors_and_precisions(build_dir, cnn_f32, cnn_q8_dynamic):
    text = run_mixq(build_dir, "inspect", cnn_f32).stdout
    assert re.search(r"^\s+x\s+FLOAT32\s+\[-1,3,8,8\]$", text, re.M), text
    assert re.search(r"^\s+prob/softmax\s+FLOAT32\s+\[-1,5\]$", text, re.M), text
    f32_bytes = int(re.search(r"^weight bytes: (\d+)$", text, re.M).group(1))
    assert f32_bytes == 4 * (4 * 3 * 3 * 3 + 4 + 5 * 64 + 5)
    assert "precision mode: force_float32" in text

    report = json.loads(run_mixq(build_dir, "inspect", "--json", cnn_q8_dynamic).stdout)
    assert report["precision_mode"] == "qint8_mixed_float32"
    by_op = {}
    for node in report["nodes"]:
        by_op.setdefault(node["op"], []).append(node)
    conv = by_op["Conv2D"][0]
    fc = by_op["FullyConnected"][0]
    # Quantizable ops take input and weight in QINT8 and produce float32.
    for node in (conv, fc):
        assert [t["actual"] for t in node["inputs"][:2]] == ["QINT8", "QINT8"], node
        assert [t["actual"] for t in node["outputs"]] == ["FLOAT32"], node
    assert by_op["Softmax"][0]["inputs"][0]["actual"] == "FLOAT32"
    q8_text = run_mixq(build_dir, "inspect", cnn_q8_dynamic).stdout
    q8_bytes = int(re.search(r"^weight bytes: (\d+)$", q8_text, re.M).group(1))
    assert q8_bytes < f32_bytes / 2  # int8 weights, float biases and scales


def test_bench_prints_ordered_latencies(build_dir, cnn_f32):
    out = run_mixq(build_dir, "bench", cnn_f32, "--threads", "2", "--contexts", "2", "--warmup", "1",
                   "--iterations", "5", "--shape", "x:2x3x8x8").stdout
    m = re.search(r"latency ms: min ([\d.]+)\s+median ([\d.]+)\s+p90 ([\d.]+)\s+p99 ([\d.]+)\s+mean ([\d.]+)", out)
    assert m, out
    lo, med, p90, p99, mean = map(float, m.groups())
    assert 0 < lo <= med <= p90 <= p99 and lo <= mean <= p99
    assert float(re.search(r"throughput: ([\d.]+) inferences/s", out).group(1)) > 0
    assert "threads per inference: 2  contexts: 2" in out and "input x: [2,3,8,8]" in out
    m = re.search(r"memory: activations (\d+) bytes per context, packed weights (\d+) bytes", out)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, out


def test_bench_profile_names_every_op_and_writes_json(build_dir, cnn_q8_dynamic, tmp_path):
    out = run_mixq(build_dir, "bench", cnn_q8_dynamic, "--threads", "1", "--warmup", "1", "--iterations", "3",
                   "--shape", "x:2x3x8x8", "--profile", "--profile-json", tmp_path / "p.json").stdout
    assert "profile over 3 run(s) (the first run" in out, out  # warm-up runs count, the very first is left out
    profile = json.loads((tmp_path / "p.json").read_text())
    assert profile["runs"] == 3
    ops = {step["op"] for step in profile["steps"]}
    assert {"Conv2D", "QuantizeDynamic"} <= ops, ops
    assert abs(sum(step["share"] for step in profile["steps"]) - 1.0) < 1e-9
    for op in profile["ops"]:
        assert re.search(rf"\b{op['op']}  {op['steps']} step\(s\)", out), (op, out)


def test_inspect_plan_shows_steps_kernels_and_storage(build_dir, cnn_f32, cnn_q8_dynamic):
    """`inspect --plan`: the lowered plan for concrete shapes, as text and JSON."""
    text = run_mixq(build_dir, "inspect", cnn_f32, "--plan", "--shape", "x:1x3x8x8").stdout
    assert re.search(r"execution plan for input shapes \[1,3,8,8\]: \d+ steps, activation arena \d+ bytes", text)
    assert "[onednn]" in text and "fused: relu" in text, text  # conv on oneDNN, its relu an eltwise post-op
    doc = json.loads(run_mixq(build_dir, "inspect", cnn_q8_dynamic, "--plan", "--json", "--shape",
                              "x:1x3x8x8").stdout)
    ops = [step["op"] for step in doc["plan"]["steps"]]
    assert "QuantizeDynamic" in ops, ops
    assert doc["precision_report"]["stage"] == "plan"
    kernels = {row["node"]: row["kernel"] for row in doc["precision_report"]["nodes"]}
    quantized = {row["kernel"] for row in doc["precision_report"]["nodes"]
                 if row["op"] in ("Conv2D", "FullyConnected")}
    # int8 kernels, fast (AVX2, AVX-512 VNNI or AMX) or not
    assert quantized and quantized <= {"avx2-int8", "avx512vnni-int8", "amx-int8", "reference-quantized"}, kernels
    op_of = {row["node"]: row["op"] for row in doc["precision_report"]["nodes"]}
    fused = [(op_of[row["node"]], op_of[row["fused_into"]]) for row in doc["precision_report"]["nodes"]
             if row["fused_into"]]
    assert fused == [("Activation", "Conv2D")], fused  # the relu applied in the quantized conv's output stage
    ref = json.loads(run_mixq(build_dir, "inspect", cnn_f32, "--plan", "--json", "--reference", "--shape",
                              "x:1x3x8x8").stdout)
    assert {s["kernel"] for s in ref["plan"]["steps"]} == {"reference"}
    assert all(not s["fused"] for s in ref["plan"]["steps"])


def parse_compare(text):
    rows = {}
    for line in text.splitlines()[1:]:
        name, dims, max_abs, rel_l2, cosine = line.split()
        rows[name] = (dims, float(max_abs), float(rel_l2), float(cosine))
    return rows


def test_compare_metrics_match_numpy(build_dir, cnn, cnn_f32, cnn_q8_dynamic, tmp_path):
    x = np.random.default_rng(2).normal(size=(2, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rows = parse_compare(run_mixq(build_dir, "compare", cnn, cnn_q8_dynamic, "--input", tmp_path / "x.npy").stdout)
    run_mixq(build_dir, "run", cnn_q8_dynamic, "-i", tmp_path / "x.npy", "-o", tmp_path / "q8")
    ref = ort_run(cnn, {"x": x})
    for name, want in ref.items():
        got = np.load(tmp_path / "q8" / file_name_for(name)).astype(np.float64)
        want = want.astype(np.float64)
        dims, max_abs, rel_l2, cosine = rows[name]
        assert dims == "[2,5]"
        assert max_abs > 0  # int8 differs from float32 ...
        assert rel_l2 < 0.05 and cosine > 0.999  # ... but not by much
        np.testing.assert_allclose(max_abs, np.abs(got - want).max(), rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(rel_l2, np.linalg.norm(got - want) / np.linalg.norm(want), rtol=1e-3)
        np.testing.assert_allclose(cosine, got.ravel() @ want.ravel() / np.linalg.norm(got) / np.linalg.norm(want),
                                   rtol=1e-6)


def test_compare_random_inputs_are_seeded(build_dir, cnn, cnn_f32, cnn_q8_dynamic):
    same = parse_compare(run_mixq(build_dir, "compare", cnn, cnn_f32, "--shape", "x:1x3x8x8").stdout)
    assert all(r[1] == 0 and r[2] == 0 for r in same.values()), same  # a float32 model against itself
    runs = [run_mixq(build_dir, "compare", cnn, cnn_q8_dynamic, "--shape", "x:4x3x8x8", "--seed", s).stdout
            for s in ("5", "5", "6")]
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize("args", [
    ["bench", "--threads"],                       # missing value
    ["bench", "MODEL", "--threads", "two"],       # not a number
    ["bench", "MODEL", "--threads", "0"],         # out of range
    ["bench", "MODEL", "--contexts", "0"],        # out of range
    ["run", "MODEL", "--frobnicate", "-o", "."],  # unknown option
    ["inspect"],                                  # missing argument
    ["inspect", "MODEL", "extra"],                # too many arguments
    ["build", "ONNX", "-o", "OUT", "--precision", "qint4_mixed_float32"],
    ["build", "ONNX", "-o", "OUT", "--input-shape", "x:1xAx8x8"],
    ["build", "ONNX", "-o", "OUT", "--calib-algo", "linear"],  # needs --calib-data
    ["bench", "MODEL"],                           # dynamic batch needs --shape
    ["bench", "MODEL", "--shape", "x:1x3x9x8"],   # contradicts the model's fixed dim
    ["run", "MODEL", "-i", "y=in.npy", "-o", "."],  # no such input
    ["frobnicate"],                               # unknown verb
])
def test_bad_command_lines_exit_2_with_one_line(build_dir, cnn, cnn_f32, args):
    args = [str(cnn_f32) if a == "MODEL" else str(cnn) if a == "ONNX" else a for a in args]
    assert_one_line_error(run_mixq(build_dir, *args, check=False), 2)


def test_bad_files_exit_1_with_one_line(build_dir, cnn, cnn_f32, tmp_path):
    data = cnn_f32.read_bytes()
    (tmp_path / "truncated.mixq").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x40
    (tmp_path / "flipped.mixq").write_bytes(bytes(flipped))
    (tmp_path / "garbage.onnx").write_bytes(np.random.default_rng(0).bytes(3000))
    np.save(tmp_path / "wrong.npy", np.zeros((1, 3, 7, 8), np.float32))
    np.save(tmp_path / "ints.npy", np.zeros((1, 3, 8, 8), np.int32))
    for args in (["inspect", tmp_path / "truncated.mixq"], ["inspect", tmp_path / "flipped.mixq"],
                 ["inspect", tmp_path / "missing.mixq"], ["build", tmp_path / "garbage.onnx", "-o", tmp_path / "g"],
                 ["build", tmp_path / "missing.onnx", "-o", tmp_path / "g"],
                 ["run", cnn_f32, "-i", tmp_path / "wrong.npy", "-o", tmp_path],
                 ["compare", tmp_path / "garbage.onnx", cnn_f32, "--shape", "x:1x3x8x8"]):
        proc = run_mixq(build_dir, *args, check=False)
        assert_one_line_error(proc, 1)
        assert "Aborted" not in proc.stderr and "terminate" not in proc.stderr
    # Integer data into a float input is converted, not refused.
    run_mixq(build_dir, "run", cnn_f32, "-i", tmp_path / "ints.npy", "-o", tmp_path / "ints")


def test_quantized_build_without_ranges_names_the_tensor(build_dir, cnn, tmp_path):
    proc = run_mixq(build_dir, "build", cnn, "-o", tmp_path / "q.mixq", "--precision", "qint8_mixed_float32",
                    check=False)
    assert_one_line_error(proc, 1)
    assert "range" in proc.stderr


def flat_range(cnn, samples):
    """[min, max] of the Gemm input 'flat' over the samples, from ONNX Runtime."""
    model = onnx.load(str(cnn))
    model.graph.output.append(helper.make_tensor_value_info("flat", TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    flats = [session.run(["flat"], {"x": s})[0] for s in samples]
    return [float(min(f.min() for f in flats)), float(max(f.max() for f in flats))]


def test_calibrated_build_equals_hand_set_ranges(build_dir, cnn, tmp_path):
    """linear calibration = the min/max over the samples, so a model calibrated on
    files must run like one built with those ranges set by hand (custom_ranges)."""
    rng = np.random.default_rng(3)
    samples = [rng.normal(0, 1 + k / 4, size=(1 + k % 2, 3, 8, 8)).astype(np.float32) for k in range(5)]
    (tmp_path / "calib").mkdir()
    for k, s in enumerate(samples):
        np.save(tmp_path / "calib" / f"sample_{k:02d}.npy", s)
    # The same samples as a list of .npz files (compressed and not), relative to the list.
    lines = []
    for k, s in enumerate(samples):
        (np.savez_compressed if k % 2 else np.savez)(tmp_path / f"s{k}.npz", x=s)
        lines.append(f"s{k}.npz")
    (tmp_path / "list.txt").write_text("# calibration samples\n" + "\n".join(lines) + "\n")

    q8 = ["--precision", "qint8_mixed_float32"]
    from_dir = run_mixq(build_dir, "build", cnn, "-o", tmp_path / "dir.mixq", *q8, "--calib-data", tmp_path / "calib",
                        "--calib-algo", "linear")
    assert "calibrating" in from_dir.stderr and "5 samples" in from_dir.stderr  # progress, plain when not a TTY
    run_mixq(build_dir, "build", cnn, "-o", tmp_path / "list.mixq", *q8, "--calib-data", tmp_path / "list.txt")
    x_max = max(float(np.abs(s).max()) for s in samples)
    x_range = [float(min(s.min() for s in samples)), float(max(s.max() for s in samples))]
    cfg = {"precision_config": {"custom_ranges": {"x": x_range, "flat": flat_range(cnn, samples)}}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    run_mixq(build_dir, "build", cnn, "-o", tmp_path / "hand.mixq", *q8, "--config", tmp_path / "cfg.json")

    x = rng.normal(0, x_max / 3, size=(4, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outs = {}
    for name in ("dir", "list", "hand"):
        run_mixq(build_dir, "run", tmp_path / f"{name}.mixq", "-i", tmp_path / "x.npy", "-o", tmp_path / name)
        outs[name] = np.load(tmp_path / name / "logits.npy")
    np.testing.assert_array_equal(outs["dir"], outs["list"])
    np.testing.assert_allclose(outs["dir"], outs["hand"], atol=1e-4)
    want = ort_run(cnn, {"x": x})["logits"]
    assert np.abs(outs["dir"] - want).max() / np.abs(want).max() < 0.03  # int8 is close to float32


def test_auto_output_aware_search_reports_progress(build_dir, cnn, tmp_path):
    """--calib-algo auto runs the output-aware search after the samples (auto_output_samples, default 8) and
    reports it as a second phase counted in candidate builds; auto_output_samples 0 is the histogram proxy alone."""
    rng = np.random.default_rng(5)
    (tmp_path / "calib").mkdir()
    for k in range(4):
        np.save(tmp_path / "calib" / f"{k}.npy", rng.standard_t(2, size=(1, 3, 8, 8)).astype(np.float32))
    common = ["build", cnn, "--precision", "qint8_mixed_float32", "--calib-data", tmp_path / "calib",
              "--calib-algo", "auto"]
    lines = run_mixq(build_dir, *common, "-o", tmp_path / "a.mixq").stderr.splitlines()
    assert lines[0] == "calibrating: 4 samples"
    assert re.fullmatch(r"calibrating: 4 samples in [0-9.]+s", lines[1]), lines
    at_most = re.fullmatch(r"auto: output-aware search: (\d+) candidate builds at most", lines[2])
    done = re.fullmatch(r"auto: output-aware search: (\d+) candidate builds in [0-9.]+s", lines[3])
    assert at_most and done, lines
    assert 1 <= int(done.group(1)) <= int(at_most.group(1))
    config = tmp_path / "proxy.json"
    config.write_text(json.dumps({"precision_config": {"precision_mode": "qint8_mixed_float32",
                                                       "auto_output_samples": 0}}))
    proxy = run_mixq(build_dir, *common, "-o", tmp_path / "p.mixq", "--config", config).stderr
    assert "output-aware" not in proxy
    assert re.search(r"calibrating: 4 samples, auto in [0-9.]+s", proxy), proxy


def test_calibration_algorithms_give_different_models(build_dir, cnn, tmp_path):
    rng = np.random.default_rng(4)
    (tmp_path / "calib").mkdir()
    for k in range(4):
        s = rng.standard_t(2, size=(1, 3, 8, 8)).astype(np.float32)  # heavy tails: clipping matters
        np.save(tmp_path / "calib" / f"{k}.npy", s)
    outs = []
    for algo in ("linear", "percentile"):
        extra = ["--calib-percentile", "90"] if algo == "percentile" else []
        run_mixq(build_dir, "build", cnn, "-o", tmp_path / f"{algo}.mixq", "--precision", "qint8_mixed_float32",
                 "--calib-data", tmp_path / "calib", "--calib-algo", algo, *extra)
        np.save(tmp_path / "x.npy", np.load(tmp_path / "calib" / "0.npy"))
        run_mixq(build_dir, "run", tmp_path / f"{algo}.mixq", "-i", tmp_path / "x.npy", "-o", tmp_path / algo)
        outs.append(np.load(tmp_path / algo / "logits.npy"))
    assert np.abs(outs[0] - outs[1]).max() > 1e-3
    bad = run_mixq(build_dir, "build", cnn, "-o", tmp_path / "b.mixq", "--precision", "qint8_mixed_float32",
                   "--calib-data", tmp_path / "calib", "--calib-algo", "kl", check=False)
    assert_one_line_error(bad, 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = run_mixq(build_dir, "build", cnn, "-o", tmp_path / "b.mixq", "--precision", "qint8_mixed_float32",
                   "--calib-data", empty, check=False)
    assert_one_line_error(bad, 1)


def test_export_onnx_runs_in_onnxruntime_like_mixq(build_dir, cnn, tmp_path):
    """build (calibrated int8) -> export-onnx -> ONNX Runtime gives mixq's own
    outputs (float rounding apart), and the QDQ nodes carry int8 weights."""
    rng = np.random.default_rng(8)
    (tmp_path / "calib").mkdir()
    for k in range(4):
        np.save(tmp_path / "calib" / f"{k}.npy", rng.normal(0, 1, size=(1, 3, 8, 8)).astype(np.float32))
    run_mixq(build_dir, "build", cnn, "-o", tmp_path / "q8.mixq", "--precision", "qint8_mixed_float32",
             "--calib-data", tmp_path / "calib")
    out = run_mixq(build_dir, "export-onnx", tmp_path / "q8.mixq", "-o", tmp_path / "q8.onnx")
    assert "wrote" in out.stdout
    exported = onnx.load(str(tmp_path / "q8.onnx"))
    onnx.checker.check_model(exported)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in exported.graph.node}
    assert any(t.data_type == TensorProto.INT8 for t in exported.graph.initializer)
    x = rng.normal(0, 1, size=(2, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run_mixq(build_dir, "run", tmp_path / "q8.mixq", "-i", tmp_path / "x.npy", "-o", tmp_path / "out")
    mixq_logits = np.load(tmp_path / "out" / "logits.npy")
    ort_logits = ort_run(tmp_path / "q8.onnx", {"x": x})["logits"]
    np.testing.assert_allclose(ort_logits, mixq_logits, rtol=1e-5, atol=1e-5)
    missing = run_mixq(build_dir, "export-onnx", tmp_path / "q8.mixq", check=False)
    assert_one_line_error(missing, 2)
