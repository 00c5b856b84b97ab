"""Real models, quantized: the fast plan gives exactly the reference's numbers.

Issue 10's whole-model acceptance. PP-OCRv4 det / rec, MobileNetV2 and
ResNet-50 (scripts/fetch_models) are calibrated on two rendered images and
built in qint8_mixed_float32 and qint16_mixed_float32; MobileNetV2 also from a
QDQ model made by ONNX Runtime's quantize_static (per-channel s8 weights, u8
activations). Each model runs once with its fast kernels and once with
force_reference (every step on the reference kernels); the fast run must
really use the fast integer kernels.

The fast integer kernels are bit-exact with the reference (DESIGN rule 1).
Where integers flow from input to output (MobileNetV2, ResNet-50: convolution,
relu / clip, pooling and the final float layers all exact) every output must
be identical. The PP-OCR models also run float steps between the integer ones
(sigmoid / SiLU / softmax) whose fast kernels are within ~1e-6 of the
reference by their stated tolerance; a float value that close to a rounding
boundary can move one quantization code, so there the outputs are compared
within a tolerance (measured: rec qint8 1.5e-8, det qint8 6.0e-8, rec qint16
3.1e-4 of the largest output) and the decoded results must agree.
"""
import pathlib

import numpy as np
import onnx
import pytest

import mixq
from test_real_models import CASES, models_dir  # noqa: F401  (the fixture)

# Largest |fast - reference| / max|reference| allowed where float steps sit
# between integer ones; None: identical.
TOLERANCE = {"ppocr_rec": 1e-3, "ppocr_det": 1e-3}

# (case, precision mode): ResNet-50's reference run is the slowest (~4 GMAC in
# scalar loops), so it runs in qint8 only.
RUNS = [("mobilenetv2", "qint8_mixed_float32"), ("mobilenetv2", "qint16_mixed_float32"),
        ("ppocr_rec", "qint8_mixed_float32"), ("ppocr_rec", "qint16_mixed_float32"),
        ("ppocr_det", "qint8_mixed_float32"), ("ppocr_det", "qint16_mixed_float32"),
        ("resnet50", "qint8_mixed_float32")]


def run_both(model, name, x, max_isa=""):
    """Outputs and kernel names of a fast and a force_reference run."""
    engine = model.create_i_engine()
    results = {}
    for reference in (False, True):
        options = mixq.ContextOptions(force_reference=reference, num_threads=2)
        options.max_isa = max_isa
        context = engine.create_i_context(options)
        outputs = context.enqueue([x])
        kernels = {r["kernel"] for r in context.get_precision_report_rows()}
        results[reference] = (outputs, kernels)
    return results


def ctc_tokens(probs):
    best = probs[0].argmax(-1)
    return [int(t) for i, t in enumerate(best) if t != 0 and (i == 0 or t != best[i - 1])]


def expect_identical(results, case=None):
    (fast, fast_kernels), (ref, ref_kernels) = results[False], results[True]
    assert ref_kernels <= {"reference", "reference-quantized"}, ref_kernels
    assert any(k.startswith("avx2-int") for k in fast_kernels), fast_kernels
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref):
        assert a.shape == b.shape
        if TOLERANCE.get(case) is not None:
            rel = np.abs(a - b).max() / np.abs(b).max()
            assert rel <= TOLERANCE[case], (case, rel)
            if case == "ppocr_rec":
                assert ctc_tokens(a) == ctc_tokens(b)
            else:  # det: the text mask
                assert np.mean((a > 0.3) != (b > 0.3)) <= 1e-3
            continue
        mismatch = np.flatnonzero(a.ravel() != b.ravel())
        assert mismatch.size == 0, (f"{mismatch.size} of {a.size} outputs differ, first at {mismatch[0]}: "
                                    f"fast {a.ravel()[mismatch[0]]} vs reference {b.ravel()[mismatch[0]]}")


@pytest.mark.parametrize("case,mode", RUNS, ids=[f"{c}-{m}" for c, m in RUNS])
def test_fast_plan_equals_reference(case, mode, models_dir):  # noqa: F811
    file, name, make_input = CASES[case]
    x = make_input()
    calib = [{name: x}, {name: np.flip(x, axis=-1).copy()}]
    model = mixq.quantize(models_dir / file, calib, precision_mode=mode, input_shapes={name: list(x.shape)})
    expect_identical(run_both(model, name, x), case)


def test_seven_bit_weights_fast_plan_equals_reference(models_dir):  # noqa: F811
    """int8_weight_range 7bit: the convolutions run avx2-int8-u8s8 (vpmaddubsw), still bit-exact (max_isa
    avx2: the path an AVX-512 VNNI CPU would not pick)."""
    file, name, make_input = CASES["mobilenetv2"]
    x = make_input()
    calib = [{name: x}, {name: np.flip(x, axis=-1).copy()}]
    model = mixq.quantize(models_dir / file, calib, precision_mode="qint8_mixed_float32",
                          input_shapes={name: list(x.shape)}, int8_weight_range="7bit")
    results = run_both(model, name, x, max_isa="avx2")
    assert "avx2-int8-u8s8" in results[False][1], results[False][1]
    expect_identical(results, "mobilenetv2")


@pytest.mark.parametrize("case", ["mobilenetv2", "resnet50"])
def test_qdq_model_fast_plan_equals_reference(case, models_dir, tmp_path):  # noqa: F811
    """ResNet-50's u8 activations (zero point 0, -128 once shifted to int8) run its padded convolutions as u8
    codes in onednn-int8 where the CPU has AVX-512 VNNI."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    file, name, make_input = CASES[case]
    x = make_input()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter([{name: x}, {name: np.flip(x, axis=-1).copy()}])

        def get_next(self):
            return next(self.data, None)

    source = onnx.load(str(models_dir / file))
    opset = next(o.version for o in source.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:  # per-channel DequantizeLinear needs opset 13
        source = onnx.version_converter.convert_version(source, 13)
    upgraded, pre, qdq = (tmp_path / n for n in ("upgraded.onnx", "pre.onnx", "qdq.onnx"))
    onnx.save(source, str(upgraded))
    quant_pre_process(str(upgraded), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(qdq), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    model = mixq.quantize(pathlib.Path(qdq), None, precision_mode="qint8_mixed_float32",
                          input_shapes={name: list(x.shape)})
    expect_identical(run_both(model, name, x))
