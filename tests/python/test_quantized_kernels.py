"""mixq's quantized reference kernels against an independent NumPy
implementation of SPEC §1, bit for bit.

For each case NumPy chooses the scales and zero points from the ranges,
quantizes the activations and weights, accumulates the centered integer
products in int64, and runs the output stage of SPEC §1.5 exactly as
docs/precision.md defines it (bias in accumulator units, float32 steps). mixq_quant_probe builds the same single-operator network
through the public API, serializes and reloads it, runs it, and its output
must be *identical*: any difference in an integer code or accumulator would
show up as a changed float.
"""
import json
import subprocess

import numpy as np
import pytest

# ----------------------------------------------------------------------------
# SPEC §1, written from the spec text (not from mixq's code).


def qrange(bits):
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def choose_scale_zero_point(lo, hi, bits, symmetric):
    """Scale computed in double and rounded once to float32; the range is first
    widened to include 0; zero point from round-half-even(min / s) in float32."""
    n, p = qrange(bits)
    lo = np.float32(min(np.float32(lo), np.float32(0)))
    hi = np.float32(max(np.float32(hi), np.float32(0)))
    if lo == hi:
        return np.float32(1.0), 0
    if symmetric:
        s = np.float32(max(-np.float64(lo), np.float64(hi)) / p)
        return s, 0
    s = np.float32((np.float64(hi) - np.float64(lo)) / (p - n))
    z = int(np.clip(n - int(np.round(np.float32(lo) / s)), n, p))
    return s, z


def quantize(x, s, z, bits):
    """q = clamp(round_half_even(x / s) + z, n, p), x / s in float32."""
    n, p = qrange(bits)
    v = np.round(np.asarray(x, np.float32) / np.asarray(s, np.float32)).astype(np.int64)
    return np.clip(v + np.asarray(z, np.int64), n, p)


def activation_symmetric(bits, symmetric):
    """activation_quant_algo "asymmetric" applies to 8-bit activations; 16-bit ones stay
    symmetric (docs/precision.md: the exact AVX2 int16 kernels need zero point 0)."""
    return symmetric or bits == 16


def quantize_activation(x, lo, hi, bits, symmetric):
    s, z = choose_scale_zero_point(lo, hi, bits, activation_symmetric(bits, symmetric))
    return quantize(x, s, z, bits) - z, s


def quantize_weights(w, axis, bits):
    """Symmetric, per output channel along `axis` (None: per tensor)."""
    if axis is None:
        s, _ = choose_scale_zero_point(w.min(), w.max(), bits, True)
        return quantize(w, s, 0, bits), np.array([s], np.float32)
    moved = np.moveaxis(w, axis, 0)
    scales = np.array(
        [choose_scale_zero_point(c.min(), c.max(), bits, True)[0] for c in moved], np.float32
    )
    shape = [1] * w.ndim
    shape[axis] = -1
    return quantize(w, scales.reshape(shape), 0, bits), scales


def output_stage(acc, s_x, s_w, channel_axis, bias=None, alpha=1.0, beta=1.0):
    """SPEC §1.5 / docs/precision.md, float output:
    unit[c] = double(s_x) * double(s_w[c]); scale = f32(unit * alpha);
    bias_acc = f32(beta * double(bias) / (unit * alpha));
    y = (f32(acc) + bias_acc) * scale, each step rounded to float32."""
    unit = np.float64(1.0) * np.float64(s_x) * s_w.astype(np.float64)
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    if unit.size == 1:
        shape = [1] * acc.ndim
    unit = unit.reshape(shape) * np.float64(1.0)
    scale = (unit * np.float64(alpha)).astype(np.float32)
    v = acc.astype(np.float32)
    if bias is not None:
        bias_acc = ((np.float64(beta) * np.asarray(bias, np.float64)) / (unit * np.float64(alpha))).astype(np.float32)
        v = (v + bias_acc).astype(np.float32)
    return (v * scale).astype(np.float32)


def requantize(acc, s_x, s_w, channel_axis, s_out, z_out, bits, bias=None):
    """SPEC §1.5, integer output: multiplier = f32(unit / s_out);
    q = clamp(rint((f32(acc) + bias_acc) * multiplier + z_out), n, p)."""
    n, p = qrange(bits)
    unit = np.float64(1.0) * np.float64(s_x) * s_w.astype(np.float64)
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    if unit.size == 1:
        shape = [1] * acc.ndim
    unit = unit.reshape(shape) * np.float64(1.0)
    multiplier = (unit * np.float64(1.0) / np.float64(s_out)).astype(np.float32)
    v = acc.astype(np.float32)
    if bias is not None:
        v = (v + ((np.asarray(bias, np.float64)) / (unit * np.float64(1.0))).astype(np.float32)).astype(np.float32)
    v = (v * multiplier).astype(np.float32)
    v = (v + np.float32(z_out)).astype(np.float32)
    return np.clip(np.rint(np.clip(v, n, p)), n, p).astype(np.int64)


# ----------------------------------------------------------------------------
# Integer operators (int64 accumulators), NCHW / OIHW.


def conv2d_int(x, w, stride, pads, dilation, group):
    n, c, h, wd = x.shape
    o, ipg, kh, kw = w.shape
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow), np.int64)
    opg = o // group
    for g in range(group):
        xs = xp[:, g * ipg : (g + 1) * ipg]
        ws = w[g * opg : (g + 1) * opg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[
                    :,
                    :,
                    i * dilation[0] : i * dilation[0] + stride[0] * (oh - 1) + 1 : stride[0],
                    j * dilation[1] : j * dilation[1] + stride[1] * (ow - 1) + 1 : stride[1],
                ]
                out[:, g * opg : (g + 1) * opg] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return out


def conv_transpose2d_int(x, w, stride, pads, dilation, group, output_padding):
    """Scatter form (independent of mixq's gather loop); w is (I, O/group, KH, KW)."""
    n, c, h, wd = x.shape
    _, opg, kh, kw = w.shape
    ipg = c // group
    top, bottom, left, right = pads
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    full = np.zeros((n, opg * group, full_h + top + bottom, full_w + left + right), np.int64)
    for g in range(group):
        xs = x[:, g * ipg : (g + 1) * ipg]
        ws = w[g * ipg : (g + 1) * ipg]
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("nchw,co->nohw", xs, ws[:, :, i, j])
                r0, c0 = i * dilation[0], j * dilation[1]
                full[
                    :,
                    g * opg : (g + 1) * opg,
                    r0 : r0 + stride[0] * (h - 1) + 1 : stride[0],
                    c0 : c0 + stride[1] * (wd - 1) + 1 : stride[1],
                ] += contrib
    out_h = full_h - top - bottom
    out_w = full_w - left - right
    return full[:, :, top : top + out_h, left : left + out_w]


# ----------------------------------------------------------------------------


def run_probe(build_dir, tmp_path, op, attrs, config, inputs, precision=None, qparams=None, chain=None):
    spec_inputs = []
    for k, (kind, array, rng) in enumerate(inputs):
        name = f"in{k}.npy"
        np.save(tmp_path / name, np.ascontiguousarray(array, np.float32))
        entry = {"file": name, "kind": kind}
        if rng is not None:
            entry["range"] = [float(rng[0]), float(rng[1])]
        if qparams and k in qparams:
            entry["qparams"] = qparams[k]
        spec_inputs.append(entry)
    spec = {"op": op, "attrs": attrs, "config": config, "inputs": spec_inputs}
    if precision:
        spec["precision"] = precision
    if chain:
        spec["chain"] = chain
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    probe = build_dir / "tests" / "mixq_quant_probe"
    result = subprocess.run([str(probe), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return np.load(tmp_path / "y.npy"), result.stdout


def config(bits, symmetric, per_axis, bias="float"):
    return {
        "precision_mode": f"qint{bits}_mixed_float32",
        "activation_quant_algo": "symmetric" if symmetric else "asymmetric",
        "weight_quant_granularity": "per_axis" if per_axis else "per_tensor",
        "bias_precision": bias,
    }


def assert_bit_exact(got, want):
    assert got.dtype == np.float32 and got.shape == want.shape
    diff = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    assert diff.size == 0, f"{diff.size} of {got.size} differ, first at {diff[0]}: {got.flat[diff[0]]} vs {want.flat[diff[0]]}"


RNG = np.random.default_rng(2026)


@pytest.mark.parametrize(
    "bits,symmetric,per_axis,group,stride,pads,dilation",
    [
        (8, False, True, 2, (2, 1), (1, 0, 2, 1), (1, 1)),
        (8, True, False, 1, (1, 1), (0, 0, 0, 0), (2, 1)),
        (16, False, True, 3, (1, 2), (1, 1, 1, 1), (1, 2)),
        (8, False, True, 6, (1, 1), (1, 1, 1, 1), (1, 1)),  # depthwise
    ],
)
def test_conv2d_bit_exact(build_dir, tmp_path, bits, symmetric, per_axis, group, stride, pads, dilation):
    c, o = 6, 6 if group == 6 else 12
    x = RNG.normal(0.3, 1.0, (2, c, 7, 9)).astype(np.float32)
    w = RNG.normal(0, 0.4, (o, c // group, 3, 2)).astype(np.float32)
    b = RNG.normal(0, 0.5, (o,)).astype(np.float32)
    lo, hi = -1.7, 2.9  # also clips some of x
    attrs = {"strides": list(stride), "pads": list(pads), "dilations": list(dilation), "group": group,
             "input_layout": "NCHW", "filter_layout": "OIHW", "output_layout": "NCHW"}
    got, report = run_probe(build_dir, tmp_path, "Conv2D", attrs, config(bits, symmetric, per_axis),
                            [("input", x, (lo, hi)), ("const", w, None), ("const", b, None)])
    assert f"QINT{bits}" in report
    qx, s_x = quantize_activation(x, lo, hi, bits, symmetric)
    qw, s_w = quantize_weights(w, 0 if per_axis else None, bits)
    acc = conv2d_int(qx, qw, stride, pads, dilation, group)
    want = output_stage(acc, s_x, s_w, 1, bias=b.reshape(1, -1, 1, 1))
    assert_bit_exact(got, want.astype(np.float32))


def test_conv2d_nhwc_int16_with_int32_bias(build_dir, tmp_path):
    """Default NHWC / OHWI layouts; the bias quantized to int32 in the
    accumulator's scale s_x * s_w[c] and added before scaling."""
    x = RNG.normal(0, 1.0, (1, 5, 6, 4)).astype(np.float32)
    w = RNG.normal(0, 0.3, (5, 3, 3, 4)).astype(np.float32)  # OHWI
    b = RNG.normal(0, 0.5, (5,)).astype(np.float32)
    attrs = {"pads": [1, 1, 1, 1]}
    got, report = run_probe(build_dir, tmp_path, "Conv2D", attrs, config(16, True, True),
                            [("input", x, (-3.0, 3.0)), ("const", w, None), ("const", b, None)],
                            precision={"2": "INT32"})
    assert "INT32" in report
    qx, s_x = quantize_activation(x, -3.0, 3.0, 16, True)
    qw, s_w = quantize_weights(w, 0, 16)
    acc = conv2d_int(qx.transpose(0, 3, 1, 2), qw.transpose(0, 3, 1, 2), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    bias_scale = (np.float64(s_x) * s_w.astype(np.float64)).astype(np.float32)
    qb = np.round(b.astype(np.float64) / bias_scale.astype(np.float64)).astype(np.int64)
    want = output_stage(acc + qb.reshape(1, -1, 1, 1), s_x, s_w, 1).transpose(0, 2, 3, 1)
    assert_bit_exact(got, np.ascontiguousarray(want))


@pytest.mark.parametrize(
    "bits,symmetric,group,stride,pads,dilation,output_padding",
    [
        (8, False, 1, (2, 2), (1, 0, 0, 1), (1, 1), (1, 0)),
        (8, True, 2, (2, 1), (0, 0, 0, 0), (1, 2), (0, 0)),
        (16, False, 3, (3, 2), (1, 1, 0, 0), (2, 1), (2, 1)),
    ],
)
def test_conv_transpose2d_bit_exact(build_dir, tmp_path, bits, symmetric, group, stride, pads, dilation,
                                    output_padding):
    c, opg = 6, 2
    x = RNG.normal(0, 1.0, (2, c, 4, 5)).astype(np.float32)
    w = RNG.normal(0, 0.4, (c, opg, 3, 2)).astype(np.float32)  # IOHW
    b = RNG.normal(0, 0.5, (opg * group,)).astype(np.float32)
    attrs = {"strides": list(stride), "pads": list(pads), "dilations": list(dilation), "group": group,
             "output_padding": list(output_padding), "input_layout": "NCHW", "filter_layout": "IOHW",
             "output_layout": "NCHW"}
    got, report = run_probe(build_dir, tmp_path, "ConvTranspose2D", attrs, config(bits, symmetric, True),
                            [("input", x, (-2.0, 2.5)), ("const", w, None), ("const", b, None)])
    assert f"QINT{bits}" in report
    qx, s_x = quantize_activation(x, -2.0, 2.5, bits, symmetric)
    # Per output channel within a group: the logical O axis (1 in IOHW); one
    # scale serves channel k of every group.
    qw, s_w = quantize_weights(w, 1, bits)
    acc = conv_transpose2d_int(qx, qw, stride, pads, dilation, group, output_padding)
    want = output_stage(acc, s_x, np.tile(s_w, group), 1, bias=b.reshape(1, -1, 1, 1))
    assert_bit_exact(got, want.astype(np.float32))


@pytest.mark.parametrize("transpose_b", [0, 1])
@pytest.mark.parametrize("bits", [8, 16])
def test_matmul_weights_bit_exact(build_dir, tmp_path, transpose_b, bits):
    a = RNG.normal(0, 1.0, (2, 3, 5, 7)).astype(np.float32)
    b = RNG.normal(0, 0.5, (11, 7) if transpose_b else (7, 11)).astype(np.float32)
    got, report = run_probe(build_dir, tmp_path, "MatMul", {"transpose_b": transpose_b}, config(bits, False, True),
                            [("input", a, (-2.5, 3.0)), ("const", b, None)])
    assert f"QINT{bits}" in report
    qa, s_a = quantize_activation(a, -2.5, 3.0, bits, False)
    qb, s_b = quantize_weights(b, 0 if transpose_b else 1, bits)
    acc = np.matmul(qa, qb.T if transpose_b else qb)
    assert_bit_exact(got, output_stage(acc, s_a, s_b, 3))


def test_matmul_two_activations_bit_exact(build_dir, tmp_path):
    """Attention-style Q @ K^T: both operands are activations, per tensor."""
    q = RNG.normal(0, 1.0, (2, 4, 6, 8)).astype(np.float32)
    k = RNG.normal(0, 1.0, (2, 4, 5, 8)).astype(np.float32)
    got, _ = run_probe(build_dir, tmp_path, "MatMul", {"transpose_b": 1}, config(8, False, True),
                       [("input", q, (-3.0, 3.0)), ("input", k, (-2.0, 3.5))])
    qq, s_q = quantize_activation(q, -3.0, 3.0, 8, False)
    qk, s_k = quantize_activation(k, -2.0, 3.5, 8, False)
    acc = np.matmul(qq, np.swapaxes(qk, -1, -2))
    assert_bit_exact(got, output_stage(acc, s_q, np.array([s_k], np.float32), 3))


@pytest.mark.parametrize("bits,bias", [(16, "float"), (8, "float"), (8, "int32")])
def test_fully_connected_gemm_bit_exact(build_dir, tmp_path, bits, bias):
    """Gemm with alpha, beta and C; transpose_b = 0 (weights [K, N])."""
    x = RNG.normal(0, 1.0, (4, 12)).astype(np.float32)
    w = RNG.normal(0, 0.3, (12, 6)).astype(np.float32)
    c = RNG.normal(0, 1.0, (6,)).astype(np.float32)
    alpha, beta = 0.75, 1.5
    got, report = run_probe(build_dir, tmp_path, "FullyConnected",
                            {"transpose_b": 0, "alpha": alpha, "beta": beta}, config(bits, True, True, bias),
                            [("input", x, (-2.0, 2.0)), ("const", w, None), ("const", c, None)])
    qx, s_x = quantize_activation(x, -2.0, 2.0, bits, True)
    qw, s_w = quantize_weights(w, 1, bits)
    acc = qx @ qw
    if bias == "int32":
        assert "INT32" in report
        bias_scale = (np.float64(s_x) * s_w.astype(np.float64)).astype(np.float32)
        qc = np.round(beta * c.astype(np.float64) / (alpha * bias_scale.astype(np.float64))).astype(np.int64)
        want = output_stage(acc + qc, s_x, s_w, 1, alpha=alpha)
    else:
        want = output_stage(acc, s_x, s_w, 1, bias=c, alpha=alpha, beta=beta)
    assert_bit_exact(got, want.astype(np.float32))


def test_int32_bias_that_overflows_is_refused(build_dir, tmp_path):
    """QINT16 accumulator steps are tiny (~1e-8 here): a bias of 50 would need
    ~5e9 steps. Asked for on the node it is an error naming the input; asked
    for network-wide it falls back to float with a note in the report."""
    x = RNG.normal(0, 1.0, (2, 8)).astype(np.float32)
    w = RNG.normal(0, 1.0, (3, 8)).astype(np.float32)
    c = np.array([50.0, -40.0, 30.0], np.float32)
    inputs = [("input", x, (-4.0, 4.0)), ("const", w, None), ("const", c, None)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    probe = build_dir / "tests" / "mixq_quant_probe"
    with pytest.raises(AssertionError, match="cannot be consumed in INT32: bias value 50 of channel 0"):
        run_probe(build_dir, tmp_path / "a", "FullyConnected", {}, config(16, True, True), inputs,
                  precision={"2": "INT32"})
    got, report = run_probe(build_dir, tmp_path / "b", "FullyConnected", {}, config(16, True, True, "int32"), inputs)
    assert "bias_precision int32 not applied to input 2: bias value 50 of channel 0" in report
    assert probe.exists()
    qx, s_x = quantize_activation(x, -4.0, 4.0, 16, True)
    qw, s_w = quantize_weights(w, 0, 16)
    want = output_stage(qx @ qw.T, s_x, s_w, 1, bias=c)
    assert_bit_exact(got, want.astype(np.float32))


def test_exact_qat_parameters_are_used_as_given(build_dir, tmp_path):
    """SetQuantizationParameters (what QDQ import uses): scales and zero points
    not derivable from any range — asymmetric int8 weights per output channel,
    an activation zero point of 17 — are used exactly, in any precision mode
    asking for QINT8, and win over a calibrated-style unforced range."""
    x = RNG.normal(0.2, 1.0, (1, 4, 6, 6)).astype(np.float32)
    w = RNG.normal(0, 0.4, (5, 4, 3, 3)).astype(np.float32)
    s_x, z_x = np.float32(0.0123), 17
    s_w = np.array([0.003, 0.0041, 0.0052, 0.0027, 0.0066], np.float32)
    z_w = np.array([0, 3, -2, 1, 0], np.int64)
    attrs = {"input_layout": "NCHW", "filter_layout": "OIHW", "output_layout": "NCHW"}
    qparams = {
        0: {"bits": 8, "scales": [float(s_x)], "zero_points": [z_x], "axis": -1},
        1: {"bits": 8, "scales": [float(v) for v in s_w], "zero_points": [int(v) for v in z_w], "axis": 0},
    }
    got, report = run_probe(build_dir, tmp_path, "Conv2D", attrs, config(8, True, True),
                            [("input", x, None), ("const", w, None)], qparams=qparams)
    assert "QINT8" in report
    qx = quantize(x, s_x, z_x, 8) - z_x
    qw = quantize(w, s_w.reshape(-1, 1, 1, 1), z_w.reshape(-1, 1, 1, 1), 8) - z_w.reshape(-1, 1, 1, 1)
    acc = conv2d_int(qx, qw, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert_bit_exact(got, output_stage(acc, s_x, s_w, 1))


def maxpool2x2_int(q):
    n, c, h, w = q.shape
    return q[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


@pytest.mark.parametrize("bits,symmetric,activation", [(8, True, "relu"), (8, False, "relu6"), (16, False, "relu")])
def test_integer_chain_requantizes_once_bit_exact(build_dir, tmp_path, bits, symmetric, activation):
    """conv -> relu -> max-pool -> conv, quantized: the first conv requantizes
    its accumulator straight into the second conv's input parameters (SPEC
    §1.5), relu and max-pool run on those integers, and no float tensor exists
    between the convolutions. NumPy follows docs/precision.md step by step."""
    x = RNG.normal(0.2, 1.0, (1, 3, 8, 10)).astype(np.float32)
    w1 = RNG.normal(0, 0.4, (6, 3, 3, 3)).astype(np.float32)
    b1 = RNG.normal(0, 0.3, (6,)).astype(np.float32)
    w2 = RNG.normal(0, 0.3, (4, 6, 3, 3)).astype(np.float32)
    b2 = RNG.normal(0, 0.3, (4,)).astype(np.float32)
    lo1, hi1, lo2, hi2 = -2.5, 3.0, -1.0, 4.5
    nchw = {"input_layout": "NCHW", "filter_layout": "OIHW", "output_layout": "NCHW", "pads": [1, 1, 1, 1]}
    np.save(tmp_path / "w2.npy", w2)
    np.save(tmp_path / "b2.npy", b2)
    chain = [{"op": "Activation", "type": activation},
             {"op": "MaxPool2D", "attrs": {"layout": "NCHW"}},
             {"op": "Conv2D", "weights": "w2.npy", "bias": "b2.npy", "attrs": nchw, "range": [lo2, hi2]}]
    got, report = run_probe(build_dir, tmp_path, "Conv2D", nchw, config(bits, symmetric, True),
                            [("input", x, (lo1, hi1)), ("const", w1, None), ("const", b1, None)], chain=chain)
    int_type = f"INT{bits}"
    # The plan: the first conv writes integers, relu and max-pool run on them.
    assert f"writes {int_type} directly" in report, report
    assert f"runs on {int_type} integers" in report, report
    plan = report[report.index("execution plan for input shapes"):].splitlines()[1:]
    steps = [line for line in plan if "->" in line]
    assert len(steps) == 4, plan  # quantize the input, conv (+relu), max-pool, conv
    for line in steps[:-1]:  # every activation before the last conv is integer
        assert "FLOAT32" not in line.split("->", 1)[1], line
    assert f"-> {int_type}[" in steps[1] and f"-> {int_type}[" in steps[2], plan
    qx, s_x = quantize_activation(x, lo1, hi1, bits, symmetric)
    qw1, s_w1 = quantize_weights(w1, 0, bits)
    acc1 = conv2d_int(qx, qw1, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    # The range of conv2's input gives its parameters; the quantize moved
    # above max-pool and relu and folded into conv1.
    s2, z2 = choose_scale_zero_point(lo2, hi2, bits, activation_symmetric(bits, symmetric))
    q1 = requantize(acc1, s_x, s_w1, 1, s2, z2, bits, bias=b1.reshape(1, -1, 1, 1))
    n, p = qrange(bits)
    top = p if activation == "relu" else int(quantize(np.float32(6.0), s2, z2, bits))
    q1 = np.clip(q1, z2, top)
    q2 = maxpool2x2_int(q1) - z2
    qw2, s_w2 = quantize_weights(w2, 0, bits)
    acc2 = conv2d_int(q2, qw2, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert_bit_exact(got, output_stage(acc2, s2, s_w2, 1, bias=b2.reshape(1, -1, 1, 1)))
