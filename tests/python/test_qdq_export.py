"""QDQ export: a model mixq built and quantized, written back to ONNX with
QuantizeLinear / DequantizeLinear carrying mixq's scales, runs in ONNX Runtime
and gives mixq's quantized outputs within one quantization step of the output.

"One step of the output" is made concrete from the exported model itself: the
change of the output when every element of the last quantized input moves by
one quantization step (for the ResNet's logits: s_x * max_n sum_k |W[n, k]| of
the final Gemm; for the attention block's residual: one step of the softmax
probabilities and of V through probs @ V; LayerNorm then scales by gamma / std).
"""
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import pytest


def export(build_dir, tmp_path, network, mode):
    probe = build_dir / "tests" / "mixq_qdq_export_probe"
    result = subprocess.run([str(probe), network, mode, str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    model = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    return model, result.stdout


def run_ort(tmp_path, model, optimize=True):
    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), options, providers=["CPUExecutionProvider"])
    x = np.load(tmp_path / "input.npy")
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: x})))


def initializers(model):
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}


def producer(model, name):
    return next(n for n in model.graph.node if name in n.output)


def dequantized_weight(model, dq_output):
    """Float weights and scale of the DequantizeLinear producing `dq_output`."""
    init = initializers(model)
    dq = producer(model, dq_output)
    assert dq.op_type == "DequantizeLinear"
    q, scale = init[dq.input[0]], init[dq.input[1]]
    zero = init[dq.input[2]] if len(dq.input) > 2 else np.zeros_like(scale)
    axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
    shape = [1] * q.ndim
    if scale.ndim == 1:
        shape[axis] = -1
    return (q.astype(np.float64) - zero.reshape(shape)) * scale.reshape(shape)


def activation_scale(model, dq_output):
    dq = producer(model, dq_output)
    assert dq.op_type == "DequantizeLinear"
    return float(initializers(model)[dq.input[1]])


@pytest.mark.parametrize("mode", ["qint8_mixed_float32", "qint16_mixed_float32", "qint8_mixed_float16"])
def test_resnet_qdq_runs_in_onnxruntime_within_one_output_step(build_dir, tmp_path, mode):
    model, report = export(build_dir, tmp_path, "resnet", mode)
    ops = [n.op_type for n in model.graph.node]
    bits = 16 if "qint16" in mode else 8
    # 7 quantized activation inputs; the two convolutions reading block 1 share one Q/DQ. In qint8 the
    # residual adds and the global average pool read int8 too (int8_rescale_chains): 5 more.
    quantized = 11 if bits == 8 else 6
    assert ops.count("QuantizeLinear") == quantized and ops.count("Conv") == 6 and "Gemm" in ops
    init = initializers(model)
    assert any(t.dtype == (np.int16 if bits == 16 else np.int8) and t.ndim == 4 for t in init.values())
    if "float16" in mode:
        assert "Cast" in ops
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    s_x = activation_scale(model, gemm.input[0])
    w = dequantized_weight(model, gemm.input[1])  # [out, in] (transB = 1)
    step = s_x * np.abs(w).sum(axis=1).max()
    want_logits = np.load(tmp_path / "logits.npy").astype(np.float64)
    want_probs = np.load(tmp_path / "probabilities.npy").astype(np.float64)
    for optimize in (False, True):
        got = run_ort(tmp_path, model, optimize)
        logit_err = np.abs(got["logits"].astype(np.float64) - want_logits).max()
        prob_err = np.abs(got["probabilities"].astype(np.float64) - want_probs).max()
        print(f"{mode} optimize={optimize}: logits max|d| {logit_err:.3g} (one step {step:.3g}), probs {prob_err:.3g}")
        assert logit_err <= step
        assert prob_err <= 0.5 * step + (2e-3 if "float16" in mode else 1e-6)


@pytest.mark.parametrize("mode", ["qint8_mixed_float32", "qint16_mixed_float32"])
def test_attention_qdq_runs_in_onnxruntime_within_one_output_step(build_dir, tmp_path, mode):
    model, _ = export(build_dir, tmp_path, "attention", mode)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMul") == 5 and "LayerNormalization" in ops and "Softmax" in ops
    # probs @ V: both operands are activations quantized per tensor.
    pv = [n for n in model.graph.node if n.op_type == "MatMul"][-1]
    s_p, s_v = activation_scale(model, pv.input[0]), activation_scale(model, pv.input[1])
    bits = 16 if "qint16" in mode else 8
    tokens = 6
    max_v = 2 ** (bits - 1) * s_v
    step = s_p * tokens * max_v + s_v  # probabilities sum to 1 along the reduced axis
    want_residual = np.load(tmp_path / "residual.npy").astype(np.float64)
    want = np.load(tmp_path / "normalized.npy").astype(np.float64)
    gamma = np.abs(initializers(model)[next(n for n in model.graph.node if n.op_type == "LayerNormalization").input[1]])
    # LayerNorm's first-order gain: gamma / (standard deviation of the row).
    gain = gamma.max() / want_residual.std(axis=-1).min()
    for optimize in (False, True):
        got = run_ort(tmp_path, model, optimize)
        residual_err = np.abs(got["residual"].astype(np.float64) - want_residual).max()
        err = np.abs(got["normalized"].astype(np.float64) - want).max()
        print(f"{mode} optimize={optimize}: residual max|d| {residual_err:.3g} (one step {step:.3g}), "
              f"normalized {err:.3g} (bound {gain * step:.3g})")
        assert residual_err <= step
        assert err <= gain * step


def test_float16_storage_exports_as_cast_pairs(build_dir, tmp_path):
    model, _ = export(build_dir, tmp_path, "resnet", "force_float16")
    assert [n.op_type for n in model.graph.node].count("Cast") >= 10
    got = run_ort(tmp_path, model)
    for name in ("probabilities", "logits"):
        want = np.load(tmp_path / f"{name}.npy")
        assert got[name].dtype == np.float16 and want.dtype == np.float16  # handed over as float16
        # Same roundings at the same op boundaries; only float32 summation order differs.
        assert np.abs(got[name].astype(np.float32) - want.astype(np.float32)).max() <= 2e-3


def test_dynamic_quantization_has_no_qdq_form(build_dir, tmp_path):
    probe = build_dir / "tests" / "mixq_qdq_export_probe"
    result = subprocess.run([str(probe), "resnet", "qint8_mixed_float32:dynamic", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "UNIMPLEMENTED" in result.stderr and "quantized dynamically" in result.stderr
    assert not (tmp_path / "model.onnx").exists()
