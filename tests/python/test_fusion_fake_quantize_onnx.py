"""FakeQuantize fusions on imported QDQ models. A QDQ model fake-quantizes
the output of every float operator mixq does not quantize (PP-OCR's affine
blocks and decomposed hard_swish: Add, Clip, Mul, Div, each followed by a
QuantizeLinear / DequantizeLinear pair, which mixq imports as FakeQuantize).
Made with the onnx helper:

- a region after a FakeQuantize whose every value is a function of its 8-bit
  code (here a whole QDQ hard_swish) is one "avx2-table" step (post-op
  table) that looks the region's output up;
- when the region's output is quantized next (a Conv's QDQ input), the table
  holds that quantization's int8 codes and the Quantize step is gone; when a
  Conv writes the region's input, it writes the FakeQuantize's int8 codes
  and the table step is a byte lookup (Conv -> table -> Conv, no float
  tensor);
- an Elementwise step followed by a FakeQuantize that starts no region takes
  it as a post-op (fake_quantize);
- a pair read both by a Conv and by a float operator (a residual block's):
  the Conv reads the FakeQuantize's output (the same int8 codes), so the
  producer keeps one consumer and takes the FakeQuantize;
- near misses: an operand from outside the region ends it; an Add whose
  output has a second consumer keeps its FakeQuantize apart.

Each plan's `mixq run` gives bit-identical outputs to `mixq run --reference`
(no fusion at all) and matches ONNX Runtime running the QDQ model as written
(graph optimizations off) within one quantization step of the output.
"""
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

SHAPE = (1, 3, 37, 41)  # 4551 values: two 2048-value chunks, then 455 (a tail of 7 past the 8-wide loop)
Y_STEP = 0.015  # y's quantization step


def const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def qdq(source, out, scale, zero, inits, nodes):
    """QuantizeLinear -> DequantizeLinear of `source` into `out` (uint8)."""
    inits += [const(f"{out}_s", scale), const(f"{out}_z", zero, np.uint8)]
    nodes += [helper.make_node("QuantizeLinear", [source, f"{out}_s", f"{out}_z"], [f"{out}_q"], name=f"{out}_Q"),
              helper.make_node("DequantizeLinear", [f"{out}_q", f"{out}_s", f"{out}_z"], [out], name=f"{out}_DQ")]


def save(path, nodes, inits, extra_outputs=()):
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, SHAPE) for name in ("y", *extra_outputs)]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)], outputs,
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def hard_swish_model(path):
    """x -> QDQ -> Add 3 -> QDQ -> Clip 0..6 -> QDQ -> Mul(x, .) -> QDQ -> Div 6 -> QDQ -> y: hard_swish as a QDQ
    model decomposes it; every value after x's QDQ depends on x's code alone."""
    inits, nodes = [const("three", 3.0), const("zero", 0.0), const("six", 6.0)], []
    qdq("x", "xq", 0.031, 128, inits, nodes)
    nodes.append(helper.make_node("Add", ["xq", "three"], ["a"], name="add3"))
    qdq("a", "aq", 0.027, 20, inits, nodes)
    nodes.append(helper.make_node("Clip", ["aq", "zero", "six"], ["c"], name="clip"))
    qdq("c", "cq", 6.0 / 255, 0, inits, nodes)
    nodes.append(helper.make_node("Mul", ["xq", "cq"], ["m"], name="mul"))
    qdq("m", "mq", 0.09, 60, inits, nodes)
    nodes.append(helper.make_node("Div", ["mq", "six"], ["d"], name="div6"))
    qdq("d", "y", Y_STEP, 60, inits, nodes)
    save(path, nodes, inits)


def raw_operand_model(path, second_consumer=False):
    """x -> Add 3 -> QDQ -> Mul(x, .) -> QDQ -> y: Mul reads the raw x, so no region starts at the Add's QDQ, and
    each Elementwise takes its FakeQuantize. second_consumer: the Add's float output is also a graph output."""
    inits, nodes = [const("three", 3.0)], []
    nodes.append(helper.make_node("Add", ["x", "three"], ["a"], name="add3"))
    qdq("a", "aq", 0.027, 20, inits, nodes)
    nodes.append(helper.make_node("Mul", ["x", "aq"], ["m"], name="mul"))
    qdq("m", "y", Y_STEP, 60, inits, nodes)
    save(path, nodes, inits, ("a",) if second_consumer else ())


def conv_model(path):
    """x -> QDQ -> Add 3 -> QDQ -> Clip 0..6 -> QDQ -> Conv (int8 weights) -> y: the region's output is the Conv's
    quantized input."""
    rng = np.random.default_rng(3)
    inits, nodes = [const("three", 3.0), const("zero", 0.0), const("six", 6.0)], []
    qdq("x", "xq", 0.031, 128, inits, nodes)
    nodes.append(helper.make_node("Add", ["xq", "three"], ["a"], name="add3"))
    qdq("a", "aq", 0.027, 20, inits, nodes)
    nodes.append(helper.make_node("Clip", ["aq", "zero", "six"], ["c"], name="clip"))
    qdq("c", "cq", 6.0 / 255, 0, inits, nodes)
    inits += [numpy_helper.from_array(rng.integers(-127, 128, (3, 3, 3, 3)).astype(np.int8), "w_q"),
              const("w_s", 0.01), const("w_z", 0, np.int8)]
    nodes += [helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w"], name="w_DQ"),
              helper.make_node("Conv", ["cq", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    save(path, nodes, inits)


def conv_region_conv_model(path):
    """x -> QDQ -> Conv -> QDQ -> Mul 0.7 -> QDQ -> Add 0.2 -> QDQ -> Conv -> y: an affine block between two
    convolutions, as PP-OCR's QDQ models have it."""
    rng = np.random.default_rng(4)
    inits, nodes = [const("k", 0.7), const("b", 0.2)], []
    qdq("x", "xq", 0.031, 128, inits, nodes)
    for i in (1, 2):
        inits += [numpy_helper.from_array(rng.integers(-127, 128, (3, 3, 3, 3)).astype(np.int8), f"w{i}_q"),
                  const(f"w{i}_s", 0.01), const(f"w{i}_z", 0, np.int8)]
        nodes.append(helper.make_node("DequantizeLinear", [f"w{i}_q", f"w{i}_s", f"w{i}_z"], [f"w{i}"], name=f"w{i}_DQ"))
    nodes.append(helper.make_node("Conv", ["xq", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]))
    qdq("c1", "c1q", 0.05, 120, inits, nodes)
    nodes.append(helper.make_node("Mul", ["c1q", "k"], ["m"], name="mul"))
    qdq("m", "mq", 0.04, 128, inits, nodes)
    nodes.append(helper.make_node("Add", ["mq", "b"], ["a"], name="add"))
    qdq("a", "aq", 0.045, 120, inits, nodes)
    nodes.append(helper.make_node("Conv", ["aq", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1]))
    save(path, nodes, inits)


def residual_model(path):
    """x -> Add 3 -> QDQ -> {Conv (int8 weights), Add} -> y = aq + conv(aq): a residual block's pair, read by a
    quantizable Conv and by a float Add. The Conv reads the FakeQuantize's output (the same int8 codes as its input's),
    so the first Add keeps a single consumer and takes the FakeQuantize."""
    rng = np.random.default_rng(5)
    inits, nodes = [const("three", 3.0)], []
    nodes.append(helper.make_node("Add", ["x", "three"], ["a"], name="add3"))
    qdq("a", "aq", 0.027, 20, inits, nodes)
    inits += [numpy_helper.from_array(rng.integers(-127, 128, (3, 3, 3, 3)).astype(np.int8), "w_q"),
              const("w_s", 0.01), const("w_z", 0, np.int8)]
    nodes += [helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w"], name="w_DQ"),
              helper.make_node("Conv", ["aq", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
              helper.make_node("Add", ["aq", "c"], ["y"], name="residual")]
    save(path, nodes, inits)


def plan_steps(build_dir, model):
    plan = json.loads(run_mixq(build_dir, "inspect", model, "--plan", "--json").stdout)["plan"]
    if "avx2" not in plan["cpu_features"].split():
        pytest.skip("no AVX2 on this CPU: the fused kernels need it")
    return plan["steps"]


def run(build_dir, model, x_path, out_dir, reference=False):
    run_mixq(build_dir, "run", model, "--output-dir", out_dir, "--threads", "1", "--input", f"x={x_path}",
             *(["--reference"] if reference else []))
    return np.load(out_dir / file_name_for("y"))


def cpu_features(build_dir, model):
    """The CPU features the plan report of `model` names ("cpu_features")."""
    plan = json.loads(run_mixq(build_dir, "inspect", model, "--plan", "--json").stdout)["plan"]
    return set(plan["cpu_features"].split())


def build_and_check(build_dir, tmp_path, onnx_path, seed, tolerance=Y_STEP + 1e-6):
    """Builds the model, checks fast == reference bit for bit and ONNX Runtime within one step; the plan."""
    model = tmp_path / (onnx_path.stem + ".mixq")
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    steps = plan_steps(build_dir, model)
    x = np.random.default_rng(seed).uniform(-5, 5, SHAPE).astype(np.float32)
    x.flat[:5] = [-3.0, 3.0, 0.0, 100.0, -100.0]
    np.save(tmp_path / "x.npy", x)
    got = run(build_dir, model, tmp_path / "x.npy", tmp_path / "fast")
    ref = run(build_dir, model, tmp_path / "x.npy", tmp_path / "ref", reference=True)
    assert np.array_equal(got.view(np.uint32), ref.view(np.uint32)), np.abs(got - ref).max()
    # ONNX Runtime evaluating the QDQ graph as written (its optimized QLinearConv multiplies u8 x s8 with AVX2's
    # saturating vpmaddubsw: 12 off on the Conv -> region -> Conv model's output).
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    assert np.abs(got - want).max() <= tolerance, np.abs(got - want).max()
    assert len(np.unique(got)) > 20  # real values, not a constant
    return steps


def test_a_qdq_region_is_one_table_step(build_dir, tmp_path):
    onnx_path = tmp_path / "hs.onnx"
    hard_swish_model(onnx_path)
    steps = build_and_check(build_dir, tmp_path, onnx_path, 7)
    assert len(steps) == 1, [(s["op"], s["node"], s["kernel"]) for s in steps]
    step = steps[0]
    assert step["op"] == "FakeQuantize" and step["kernel"] == "avx2-table" and step["post_ops"] == ["table"], step
    for node in ("add3", "clip", "mul", "div6", "y_DQ"):
        assert node in step["fused"], step


def test_elementwise_takes_a_fake_quantize_that_starts_no_region(build_dir, tmp_path):
    onnx_path = tmp_path / "raw.onnx"
    raw_operand_model(onnx_path)
    steps = build_and_check(build_dir, tmp_path, onnx_path, 8)
    by_node = {s["node"]: s for s in steps}
    for node in ("add3", "mul"):
        assert by_node[node]["kernel"] == "cpu-fast" and by_node[node]["post_ops"] == ["fake_quantize"], by_node
    assert len(steps) == 2


def test_second_consumer_keeps_the_fake_quantize_apart(build_dir, tmp_path):
    onnx_path = tmp_path / "raw2.onnx"
    raw_operand_model(onnx_path, second_consumer=True)
    steps = build_and_check(build_dir, tmp_path, onnx_path, 9)
    by_node = {s["node"]: s for s in steps}
    assert by_node["add3"]["fused"] == [] and by_node["add3"]["post_ops"] == [], by_node["add3"]
    assert any(s["op"] == "FakeQuantize" for s in steps)


def test_a_region_quantized_next_writes_int8_codes(build_dir, tmp_path):
    onnx_path = tmp_path / "conv.onnx"
    conv_model(onnx_path)
    # y is the Conv's float output: ONNX Runtime sums the same products in float (1e-4 of its range).
    steps = build_and_check(build_dir, tmp_path, onnx_path, 10, tolerance=1e-3)
    table = [s for s in steps if s["kernel"] == "avx2-table"]
    assert len(table) == 1, [(s["op"], s["node"], s["kernel"]) for s in steps]
    assert [o["storage"] for o in table[0]["outputs"]] == ["INT8"], table[0]
    # The region and the Quantize the Q/DQ placement puts above the Clip (a clamp runs on the int8 codes).
    assert "add3" in table[0]["fused"] and any(f.endswith("quantize_INT8") for f in table[0]["fused"]), table[0]
    assert [s["op"] for s in steps] == ["FakeQuantize", "Activation", "Conv2D"], [(s["op"], s["node"]) for s in steps]


def test_a_convolution_writes_the_region_codes(build_dir, tmp_path):
    onnx_path = tmp_path / "crc.onnx"
    conv_region_conv_model(onnx_path)
    steps = build_and_check(build_dir, tmp_path, onnx_path, 11, tolerance=1e-3)
    assert [s["op"] for s in steps] == ["Quantize", "Conv2D", "FakeQuantize", "Conv2D"], [
        (s["op"], s["node"]) for s in steps]
    conv1, table = steps[1], steps[2]
    assert [o["storage"] for o in conv1["outputs"]] == ["INT8"] and conv1["post_ops"][-1:] == [""], conv1
    # int8 codes in and out: the lookup alone, with vpermi2b where the CPU has AVX-512 VBMI.
    vbmi = "avx512vbmi" in cpu_features(build_dir, tmp_path / "crc.mixq")
    assert table["kernel"] == ("avx512vbmi-table" if vbmi else "avx2-table"), table
    assert [i["storage"] for i in table["inputs"]] == ["INT8"] and [o["storage"] for o in table["outputs"]] == [
        "INT8"], table
    assert "mul" in table["fused"] and "add" in table["fused"], table


def test_a_pair_read_by_a_conv_and_a_float_op_fuses_into_its_producer(build_dir, tmp_path):
    onnx_path = tmp_path / "res.onnx"
    residual_model(onnx_path)
    # y holds the Conv's float output: ONNX Runtime sums the same products in float.
    steps = build_and_check(build_dir, tmp_path, onnx_path, 11, tolerance=1e-3)
    by_node = {s["node"]: s for s in steps}
    assert by_node["add3"]["post_ops"] == ["fake_quantize"] and "aq_DQ" in by_node["add3"]["fused"], by_node["add3"]
    assert not any(s["op"] == "FakeQuantize" for s in steps), [(s["op"], s["node"]) for s in steps]
    assert by_node["conv"]["kernel"] in ("avx2-int8", "avx2-int8-u8s8", "avx512vnni-int8", "amx-int8"), by_node["conv"]
