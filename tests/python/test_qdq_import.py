"""QDQ import: a model quantized by ONNX Runtime's quantize_static (QDQ format)
imports into mixq and runs with exactly those scales and zero points.

Exactness is checked by a round trip: mixq exports the built model back to
ONNX QDQ, and every scale / zero point there must equal, bit for bit, the one
ONNX Runtime chose for the same tensor. The outputs are compared with ONNX
Runtime running the QDQ model, within one quantization step of the output.
"""
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

RNG = np.random.default_rng(5)


def float_model(path):
    """Conv-Relu-Conv + residual Add, GlobalAveragePool, Gemm: NCHW, opset 17."""
    def init(name, shape, scale):
        return onnx.numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["sum"]),
        helper.make_node("Relu", ["sum"], ["r2"]),
        helper.make_node("ConvTranspose", ["r2", "wt"], ["up"], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["up"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "qdq_source",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        [init("w1", (8, 3, 3, 3), 0.3), init("b1", (8,), 0.1), init("w2", (8, 8, 3, 3), 0.15),
         init("b2", (8,), 0.1), init("wt", (8, 4, 2, 2), 0.3), init("wf", (10, 4), 0.5), init("bf", (10,), 0.1)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


class Reader(CalibrationDataReader):
    def __init__(self, count):
        self.samples = iter([{"x": RNG.standard_normal((1, 3, 12, 12)).astype(np.float32)} for _ in range(count)])

    def get_next(self):
        return next(self.samples, None)


def scales_by_tensor(model):
    """{float tensor name: (scale, zero point)} of every DequantizeLinear,
    named by the tensor it dequantizes (the QuantizeLinear input for
    activations, the weight initializer for weights)."""
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    out = {}
    for n in model.graph.node:
        if n.op_type != "DequantizeLinear":
            continue
        source = n.input[0]
        if source in producers and producers[source].op_type == "QuantizeLinear":
            source = producers[source].input[0]
            key = ("activation", source)
        else:
            key = ("weight", init[source].shape)
        zero = init[n.input[2]] if len(n.input) > 2 else np.zeros(1, np.uint8)
        out[key] = (init[n.input[1]], zero)
    return out


@pytest.mark.parametrize("activation_type", [QuantType.QInt8, QuantType.QUInt8])
def test_quantize_static_model_imports_with_its_exact_scales(build_dir, tmp_path, activation_type):
    float_model(tmp_path / "float.onnx")
    quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "qdq.onnx"), Reader(16),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=activation_type,
                    weight_type=QuantType.QInt8)
    source = onnx.load(str(tmp_path / "qdq.onnx"))
    x = RNG.standard_normal((1, 3, 12, 12)).astype(np.float32)
    np.save(tmp_path / "input.npy", x)
    probe = build_dir / "tests" / "mixq_onnx_import_probe"
    # force_float32: the QDQ nodes alone decide what runs quantized.
    result = subprocess.run([str(probe), str(tmp_path / "qdq.onnx"), "force_float32", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json
    report = json.loads(result.stdout)
    quantized = {n["op"]: [i["actual"] for i in n["inputs"][:2]] for n in report["nodes"]
                 if n["op"] in ("Conv2D", "ConvTranspose2D", "FullyConnected")}
    assert quantized == {"Conv2D": ["QINT8", "QINT8"], "ConvTranspose2D": ["QINT8", "QINT8"],
                         "FullyConnected": ["QINT8", "QINT8"]}, quantized
    for node in report["nodes"]:
        if node["op"] in ("Conv2D", "ConvTranspose2D", "FullyConnected"):
            assert node["inputs"][0]["requested_by"] == "node"
    # quantize_static's int32 biases (scale s_x * s_w[c], zero point 0) join
    # the integer accumulator, as in ONNX Runtime's QLinearConv.
    biases = [(n["op"], n["inputs"][2]["actual"], n["inputs"][2]["requested_by"]) for n in report["nodes"]
              if n["op"] in ("Conv2D", "FullyConnected")]
    assert biases == [("Conv2D", "INT32", "node")] * 2 + [("FullyConnected", "FLOAT32", "network")], biases

    # Round trip: the scales mixq ran with are the ones ONNX Runtime chose.
    exported = onnx.load(str(tmp_path / "reexport.onnx"))
    want, got = scales_by_tensor(source), scales_by_tensor(exported)
    compared = 0
    for key, (scale, zero) in want.items():
        if key not in got:
            continue
        g_scale, g_zero = got[key]
        assert np.array_equal(np.asarray(g_scale, np.float32).view(np.uint32),
                              np.asarray(scale, np.float32).view(np.uint32)), key
        shift = 128 if zero.dtype == np.uint8 else 0  # mixq holds uint8 as int8
        assert np.array_equal(g_zero.astype(np.int64), zero.astype(np.int64) - shift), key
        compared += 1
    # Conv x2, ConvTranspose, Gemm: 4 weights and 4 activations (x, r1, r2, flat).
    assert compared >= 8, (compared, sorted(want), sorted(got))

    # Q -> DQ pairs in front of operators mixq runs in float (Add, pooling,
    # Flatten; the ReLUs that quantize_static folded into a zero point at the
    # bottom of the grid) are FakeQuantize nodes, or, where the operator is a
    # rescaling step between quantized ends (the residual Add, the pooling),
    # its int8 inputs (src/passes/qdq_integer_chain.cc).
    chains = [n["op"] for n in report["nodes"] if "integer chain" in n["reason"]]
    fake_quantize = sum(n["op"] == "FakeQuantize" for n in report["nodes"])
    print("integer chain steps", chains, "FakeQuantize nodes", fake_quantize)
    assert "Elementwise" in chains and "GlobalAvgPool" in chains, report["nodes"]
    for n in report["nodes"]:
        if n["op"] in ("Elementwise", "GlobalAvgPool"):
            assert [i["actual"] for i in n["inputs"]][:1] == ["QINT8"], n

    # ONNX Runtime with its graph optimizations off runs the QDQ model as
    # written (DequantizeLinear -> float op -> QuantizeLinear). Optimized, it
    # fuses QLinearConv kernels whose u8 x s8 products saturate in 16 bits on
    # AVX2 CPUs without VNNI (vpmaddubsw), an error of several steps there.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(tmp_path / "qdq.onnx"), options, providers=["CPUExecutionProvider"])
    want_logits = session.run(None, {"x": x})[0].astype(np.float64)
    got_logits = np.load(tmp_path / "out_0.npy").astype(np.float64)
    gemm_dq = next(n for n in exported.graph.node if n.op_type == "Gemm").input[0]
    exported_init = {t.name: onnx.numpy_helper.to_array(t) for t in exported.graph.initializer}
    gemm_scale = float(exported_init[next(n for n in exported.graph.node if gemm_dq in n.output).input[1]])
    w = onnx.numpy_helper.to_array(next(t for t in onnx.load(str(tmp_path / "float.onnx")).graph.initializer
                                        if t.name == "wf"))
    step = gemm_scale * np.abs(w).sum(axis=1).max()  # one step of the Gemm input, through the weights
    err = np.abs(got_logits - want_logits).max()
    print(f"{activation_type}: max|mixq - ORT| {err:.3g} (one output step {step:.3g})")
    assert err <= step


def test_int32_biases_stay_float_off_the_accumulator_scale_or_past_2_24(build_dir, tmp_path):
    """A Conv bias whose DQ scale is not s_x * s_w[c] (requantizing it would
    change its values), or whose sums could pass 2^24 (255 * sum|w| + |b|:
    float32 would round them), is dequantized into a float bias."""
    float_model(tmp_path / "float.onnx")
    quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "qdq.onnx"), Reader(8),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    model = onnx.load(str(tmp_path / "qdq.onnx"))
    init = {t.name: t for t in model.graph.initializer}
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    bias_dq = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and conv.input[2] in n.output)
    scale = onnx.numpy_helper.to_array(init[bias_dq.input[1]])
    init[bias_dq.input[1]].CopyFrom(onnx.numpy_helper.from_array((scale * 3).astype(np.float32), bias_dq.input[1]))
    conv2 = [n for n in model.graph.node if n.op_type == "Conv"][1]
    bias2_dq = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and conv2.input[2] in n.output)
    codes = onnx.numpy_helper.to_array(init[bias2_dq.input[0]]).copy()
    codes[0] = 1 << 24
    init[bias2_dq.input[0]].CopyFrom(onnx.numpy_helper.from_array(codes, bias2_dq.input[0]))
    onnx.save(model, str(tmp_path / "scaled.onnx"))
    np.save(tmp_path / "input.npy", RNG.standard_normal((1, 3, 12, 12)).astype(np.float32))
    probe = build_dir / "tests" / "mixq_onnx_import_probe"
    result = subprocess.run([str(probe), str(tmp_path / "scaled.onnx"), "force_float32", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json
    convs = [n for n in json.loads(result.stdout)["nodes"] if n["op"] == "Conv2D"]
    assert [n["inputs"][2]["actual"] for n in convs] == ["FLOAT32", "FLOAT32"], convs


def test_unpaired_quantize_linear_is_a_clear_error(build_dir, tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])]
    graph = helper.make_graph(
        nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("q", TensorProto.INT8, [4])],
        [onnx.numpy_helper.from_array(np.array(0.1, np.float32), "s"),
         onnx.numpy_helper.from_array(np.array(0, np.int8), "z")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "bad.onnx")
    np.save(tmp_path / "input.npy", np.zeros(4, np.float32))
    probe = build_dir / "tests" / "mixq_onnx_import_probe"
    result = subprocess.run([str(probe), str(tmp_path / "bad.onnx"), "force_float32", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "QuantizeLinear" in result.stderr and "without DequantizeLinear" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
