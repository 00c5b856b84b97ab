#!/usr/bin/env python3
"""The real-model accuracy suite: mixq's quantized builds and ONNX Runtime's quantize_static
against float32, on data made by tests/models/make_data.py.

    .venv/bin/python tests/models/suite.py [--data DIR] [--out PREFIX] [--models rec,det,cls,mnv2,r50]
        [--rec 200,200] [--det 40,40] [--cls 100,200] [--mnv2 50,100] [--r50 50,100] [--tune-seconds 900 (0: no tuning)]
        [--no-ort] [--small] [--weights7] [--chains] [--like-ort]

Models (scripts/fetch_models puts them in .cache/models or $MIXQ_MODEL_DIR):

- rec: PP-OCRv4 rec, 1x3x48x320 rendered text lines. Greedy CTC decoding
  with the model's own dictionary (the ``character`` metadata of the ONNX
  file: blank, 6623 characters, space). Metrics against the rendered text,
  spaces removed as PaddleOCR's RecMetric does (case kept): exact match %
  and mean normalized edit distance (edit distance / max(len)).
- det: PP-OCRv4 det, 1x3x320x320 pages of lines. Metric: IoU of the
  probability map binarized at 0.3 (DB's threshold) with float32's, pooled
  over the pages.
- cls: the PP-OCR v2.0 direction classifier (trained; 0 / 180 degrees),
  1x3x48x192 lines, every other one turned 180 degrees. Metrics: top-1
  agreement with float32 % and accuracy against the true direction %.
- mnv2: MobileNetV2 (torchvision-shaped, random weights, scripts/gen_models/
  gen_cnn.py), 1x3x224x224 synthetic pictures. Metrics: top-1 agreement with
  float32 %, which is trivial here (the random head gives class 365 to every
  picture: the logits vary by ~0.002 between pictures, around ~0.5), so also
  the SQNR of the input-dependent part: logits minus float32's mean logits
  over the evaluation pictures, against the error (dB).
- r50: ResNet-50 (the same generator, random weights) on the same pictures,
  with the same metrics (not in the default --models).

Rows: float32 (mixq force_float32; ORT float32 as a check); mixq
qint8_mixed_float32 with each range algorithm, qint8 with asymmetric
activations (as ORT's default), qint8_mixed_float16 and qint16_mixed_float32
with linear / auto; with --weights7, every qint8_mixed_float32 row again
with `int8_weight_range: 7bit` (weights in [-63, 63], the AVX2 vpmaddubsw
policy of docs/precision.md); mixq tune (rec only, see --tune-*); ORT quantize_static
(QDQ, per-channel int8 weights, uint8 asymmetric activations) with MinMax,
Entropy, Entropy as a KL search (EntropyKL: 2048 bins, 128 quantized levels, as
TensorRT's and mixq's entropy; quantize_static's own Entropy has 128 bins and
128 levels, whose only threshold is the whole histogram) and Percentile (99.99,
as mixq's) on the same calibration data.
With --like-ort only float32 and qint8 linear / entropy / percentile with
asymmetric activations, ORT's quantization (with the ORT rows).
With --chains only float32, qint8 linear and qint8 linear with each kind of
integer chain (passes/integer_chain.h), each calibrated with its config.
Latency: median of --latency-runs single-thread runs of one sample, measured
interleaved with float32's (a shared machine: compare ratios).

Writes PREFIX.md (markdown table with the command) and PREFIX.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time
import types
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import make_data  # noqa: E402

MODEL_FILES = {
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", "x"),
    "det": ("ch_PP-OCRv4_det_infer.onnx", "x"),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "x"),
    "mnv2": ("mobilenetv2.onnx", "input"),
    "r50": ("resnet50.onnx", "input"),
}
# Models evaluated on another model's data set.
DATA_OF = {"r50": "mnv2"}
DET_THRESHOLD = 0.3
PERCENTILE = 99.99


def models_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("MIXQ_MODEL_DIR", ROOT / ".cache" / "models"))


def missing_models(names: Sequence[str]) -> List[str]:
    return [str(models_dir() / MODEL_FILES[n][0]) for n in names if not (models_dir() / MODEL_FILES[n][0]).is_file()]


# ---------------------------------------------------------------- metrics

def rec_dictionary(onnx_path: pathlib.Path) -> List[str]:
    """Index -> character: 'blank', the model's `character` metadata (one per line), ' ' (6625 classes)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if "character" not in meta:
        raise ValueError(f"{onnx_path} has no 'character' metadata: cannot decode its CTC output")
    return ["blank"] + meta["character"].splitlines() + [" "]


def ctc_decode(probs: np.ndarray, chars: Sequence[str]) -> str:
    """Greedy CTC: argmax per step, repeats merged, blanks (index 0) dropped. probs: 1xTxC."""
    best = np.asarray(probs).reshape(-1, probs.shape[-1]).argmax(-1)
    out, prev = [], 0
    for k in best:
        if k != prev and k != 0:
            out.append(chars[k])
        prev = k
    return "".join(out)


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def rec_metrics(texts: Sequence[str], labels: Sequence[str]) -> Dict[str, float]:
    """exact-match % and mean normalized edit distance, spaces removed (PaddleOCR's ignore_space)."""
    exact, ned = 0, 0.0
    for t, l in zip(texts, labels):
        t, l = t.replace(" ", ""), str(l).replace(" ", "")
        exact += t == l
        ned += edit_distance(t, l) / max(len(t), len(l), 1)
    return {"exact_match": 100.0 * exact / len(labels), "norm_edit_distance": ned / len(labels)}


def det_iou(maps: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """IoU of (map > 0.3) with (reference > 0.3), intersections and unions summed over the pages."""
    inter = union = 0
    for m, r in zip(maps, reference):
        a, b = np.asarray(m) > DET_THRESHOLD, np.asarray(r) > DET_THRESHOLD
        inter += int(np.logical_and(a, b).sum())
        union += int(np.logical_or(a, b).sum())
    return inter / union if union else 1.0


def top1_agreement(logits: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    same = [int(np.argmax(a)) == int(np.argmax(b)) for a, b in zip(logits, reference)]
    return 100.0 * sum(same) / len(same)


# ---------------------------------------------------------------- engines

class Runner:
    """One built model (mixq IModel or ORT session) that maps an input array to the first output."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray]):
        self.run = run

    def outputs(self, xs: Sequence[np.ndarray]) -> List[np.ndarray]:
        return [self.run(x) for x in xs]


def mixq_runner(model) -> Runner:
    import mixq

    session = mixq.Session(model, num_threads=1)
    name = session.get_inputs()[0].name
    return Runner(lambda x: session.run(None, {name: x})[0])


def ort_runner(path: pathlib.Path, input_name: str) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return Runner(lambda x: session.run(None, {input_name: x})[0])


class MixqModel:
    """The ONNX model parsed once per precision mode and calibrated once (statistics saved);
    every range algorithm is then applied from the saved statistics, without the data again."""

    def __init__(self, onnx_path: pathlib.Path, input_name: str, dims: Sequence[int], work: pathlib.Path):
        self.onnx_path, self.input_name, self.dims, self.work = onnx_path, input_name, list(dims), work
        self._calibrated: Dict[str, tuple] = {}

    def network(self):
        import mixq

        network, parser = mixq.INetwork(), mixq.IParser()
        parser.set_input_shape(self.input_name, mixq.Dims(self.dims))
        parser.parse(network, str(self.onnx_path))
        return network

    def calibrated(self, precision: str, asymmetric: bool, calib: Sequence[np.ndarray], keys: Optional[dict] = None):
        """(network with statistics, config, statistics file, extra config keys) for this precision mode
        (and extra precision_config `keys`: integer chains need ranges the plain plan does not)."""
        import mixq

        key = f"{precision}{'_asym' if asymmetric else ''}" + "".join(f"_{k}_{v}" for k, v in (keys or {}).items())
        if key not in self._calibrated:
            extra = {"activation_quant_algo": "asymmetric"} if asymmetric else {}
            extra.update(keys or {})
            config = mixq.build_config(precision, **extra)
            network = self.network()
            stats = self.work / f"{self.onnx_path.stem}_{key}.mixqcal"
            mixq.calibrate(network, list(calib), config, algo="linear", statistics_file=stats)
            self._calibrated[key] = (network, config, stats, extra)
        return self._calibrated[key]

    def build(self, precision: str, algo: Optional[str] = None, calib: Sequence[np.ndarray] = (),
              asymmetric: bool = False, config_json: Optional[str] = None, weights7: bool = False,
              keys: Optional[dict] = None):
        import mixq

        if precision == "force_float32":
            return mixq.IBuilder().build_model("float32", self.network(), mixq.build_config("force_float32"))
        network, config, stats, extra = self.calibrated(precision, asymmetric, calib, keys)
        if algo == "auto" and not weights7:
            # The output-aware auto search (docs/accuracy.md) needs the samples: statistics gathered with
            # linear and reloaded with AUTO would give its histogram proxy only.
            network = self.network()
            if config_json is not None:
                config = mixq.IBuilderConfig()
                config.parse_from_string(config_json)
            mixq.calibrate(network, list(calib), config, algo="auto", percentile=PERCENTILE)
            return mixq.IBuilder().build_model(f"{precision}_auto", network, config)
        calibrator = mixq.ICalibrator([])
        calibrator.set_quantization_algorithm(getattr(mixq.QuantizationAlgorithm, algo.upper()), PERCENTILE)
        calibrator.load_statistics(network, str(stats))
        if config_json is not None:
            config = mixq.IBuilderConfig()
            config.parse_from_string(config_json)
        if weights7:  # ranges come from the statistics; only the weights' code range changes
            config = mixq.build_config(precision, **extra, int8_weight_range="7bit")
        return mixq.IBuilder().build_model(f"{precision}_{algo}", network, config)


def ort_quantize(onnx_path: pathlib.Path, input_name: str, calib: Sequence[np.ndarray], method: str,
                 work: pathlib.Path) -> pathlib.Path:
    """ORT quantize_static, QDQ, per-channel QInt8 weights, QUInt8 activations (ORT's defaults), on `calib`."""
    import onnx
    import onnx.version_converter
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = work / f"{onnx_path.stem}.pre.onnx"
    if not pre.is_file():
        source = onnx.load(str(onnx_path))
        opset = next(o.version for o in source.opset_import if o.domain in ("", "ai.onnx"))
        if opset < 13:  # per-channel DequantizeLinear (axis) needs opset 13
            source = onnx.version_converter.convert_version(source, 13)
        upgraded = work / f"{onnx_path.stem}.opset.onnx"
        onnx.save(source, str(upgraded))
        quant_pre_process(str(upgraded), str(pre), skip_symbolic_shape=True)

    class Reader(CalibrationDataReader):
        """All of `calib`, in the slices ORT asks for (set_range: its CalibStridedMinMax)."""

        def __init__(self):
            self.set_range(0, len(calib))

        def __len__(self):
            return len(calib)

        def set_range(self, start_index, end_index):
            self.data = iter([{input_name: x} for x in calib[start_index:end_index]])

        def get_next(self):
            return next(self.data, None)

    out = work / f"{onnx_path.stem}_ort_{method.lower()}.onnx"
    if method == "EntropyKL":
        return ort_quantize_kl(pre, out, Reader(), len(calib))
    # ORT keeps every sample's intermediate tensors until it computes ranges: on PP-OCR rec, 200 lines took
    # more than 23 GB. CalibStridedMinMax feeds them in slices (of at most 10 samples, a divisor of the
    # count, as ORT requires), each folded into the min / max or the histograms before the next. (ORT 1.20's
    # CalibMaxIntermediateOutputs drops the data instead: "No data is collected".)
    extra = {"CalibStridedMinMax": max(d for d in range(1, 11) if len(calib) % d == 0)}
    if method == "Percentile":
        extra["CalibPercentile"] = PERCENTILE
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, method), extra_options=extra)
    return out


def ort_quantize_kl(pre: pathlib.Path, out: pathlib.Path, reader, count: int) -> pathlib.Path:
    """ORT quantize_static Entropy as a KL search (TensorRT's setting: 2048 histogram bins, 128 quantized
    levels). quantize_static builds its EntropyCalibrater with 128 bins and 128 quantized bins and passes no
    way to change them, so its only candidate threshold is the whole histogram, a max-abs range
    (calibrate.py get_entropy_threshold). Here create_calibrator gets the two settings it reads from
    extra_options ("num_bins", "num_quantized_bins"); everything else is quantize_static's."""
    import importlib

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    ort_quantize_module = importlib.import_module("onnxruntime.quantization.quantize")  # the module, not the function

    original = ort_quantize_module.create_calibrator

    def kl_calibrator(*args, **kwargs):
        kwargs["extra_options"] = {**(kwargs.get("extra_options") or {}), "num_bins": 2048,
                                   "num_quantized_bins": 128}
        return original(*args, **kwargs)

    ort_quantize_module.create_calibrator = kl_calibrator
    try:
        quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Entropy,
                        extra_options={"CalibStridedMinMax": max(d for d in range(1, 11) if count % d == 0)})
    finally:
        ort_quantize_module.create_calibrator = original
    return out


def median_ms(run: Callable[[], object], runs: int) -> float:
    run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def paired_latency(candidate: Runner, reference: Runner, x: np.ndarray, runs: int) -> tuple:
    """Median ms of candidate and reference, measured in alternating rounds (load changes hit both)."""
    cand, ref = [], []
    for _ in range(max(1, runs // 5)):
        cand.append(median_ms(lambda: candidate.run(x), 5))
        ref.append(median_ms(lambda: reference.run(x), 5))
    return float(np.median(cand)), float(np.median(ref))


# ---------------------------------------------------------------- the suite

def evaluate(model: str, outputs: List[np.ndarray], reference: List[np.ndarray], labels, chars) -> Dict[str, float]:
    if model == "rec":
        texts = [ctc_decode(o, chars) for o in outputs]
        ref_texts = [ctc_decode(o, chars) for o in reference]
        result = rec_metrics(texts, labels)
        same = [a.replace(" ", "") == b.replace(" ", "") for a, b in zip(texts, ref_texts)]
        result["same_text_as_float"] = 100.0 * sum(same) / len(texts)
        return result
    if model == "det":
        return {"iou_vs_float": det_iou(outputs, reference)}
    result = {"top1_agreement": top1_agreement(outputs, reference)}
    if model == "cls":
        right = [int(np.argmax(o)) == int(c) for o, c in zip(outputs, labels)]
        result["accuracy"] = 100.0 * sum(right) / len(right)
    if model in ("mnv2", "r50"):
        ref = np.stack([np.asarray(r, np.float64).ravel() for r in reference])
        err = np.stack([np.asarray(o, np.float64).ravel() for o in outputs]) - ref
        signal = ref - ref.mean(0)
        noise = float((err ** 2).sum())
        # None: no error at all (+inf dB; JSON has no infinity).
        result["centered_sqnr_db"] = float(10 * np.log10((signal ** 2).sum() / noise)) if noise > 0 else None
    return result


# --chains rows: qint8 linear with the integer chains of passes/integer_chain.h (precision_config keys).
CHAIN_ROWS = [
    ("int8_rescale_chains", {"int8_rescale_chains": "on"}),
    ("int8_table_chains", {"int8_table_chains": "on"}),
]


def row_configs(model: str, full: bool, weights7: bool = False, chains: bool = False,
                like_ort: bool = False) -> List[dict]:
    """The mixq builds of the table: precision, algorithm, asymmetric activations, 7-bit weights."""
    if like_ort:  # ORT quantize_static's activations are asymmetric (uint8): each algorithm so
        return [{"precision": "qint8_mixed_float32", "algo": a, "asymmetric": True}
                for a in ("linear", "entropy", "percentile")]
    if chains:
        return [{"precision": "qint8_mixed_float32", "algo": "linear"}] + [
            {"precision": "qint8_mixed_float32", "algo": "linear", "keys": keys, "label": label}
            for label, keys in CHAIN_ROWS]
    algos8 = ["linear", "eqnm", "entropy", "percentile", "auto"] if full else ["linear"]
    rows = [{"precision": "qint8_mixed_float32", "algo": a} for a in algos8]
    if full:
        rows.append({"precision": "qint8_mixed_float32", "algo": "linear", "asymmetric": True})
        rows += [{"precision": p, "algo": a} for p in ("qint8_mixed_float16", "qint16_mixed_float32")
                 for a in ("linear", "auto")]
    else:
        rows.append({"precision": "qint16_mixed_float32", "algo": "linear"})
    if weights7:
        rows += [{**r, "weights7": True} for r in rows if r["precision"] == "qint8_mixed_float32"]
    return rows


# --ptq rows: the post-training transforms (precision_config keys), each calibrated with its own config.
PTQ_ROWS = [
    ("bias_correction", {"bias_correction": True}),
    ("CLE", {"cross_layer_equalization": True}),
    ("CLE relu6->relu", {"cross_layer_equalization": True, "cross_layer_equalization_relu6": "replace_with_relu"}),
    ("CLE relu6->relu + bias_correction", {"cross_layer_equalization": True,
                                           "cross_layer_equalization_relu6": "replace_with_relu",
                                           "bias_correction": True}),
    ("smooth_quant 0.5", {"smooth_quant_alpha": 0.5}),
]


def build_ptq(mm: "MixqModel", precision: str, keys: dict, calib) -> tuple:
    """(model, the report's transform lines): calibrated and built with `keys` (statistics files do not carry
    what the transforms need, so no reload here)."""
    import mixq

    network = mm.network()
    config = mixq.build_config(precision, **keys)
    mixq.calibrate(network, list(calib), config, algo="linear")
    model = mixq.IBuilder().build_model(f"{precision}_ptq", network, config)
    return model, json.loads(model.get_precision_report_json()).get("transforms", [])


def run_model(model: str, calib_x, eval_x, labels, args, work: pathlib.Path, log=print) -> dict:
    import mixq

    file, input_name = MODEL_FILES[model]
    onnx_path = models_dir() / file
    dims = list(calib_x[0].shape)
    chars = rec_dictionary(onnx_path) if model == "rec" else None
    calib, evals = list(calib_x), list(eval_x)
    mm = MixqModel(onnx_path, input_name, dims, work)
    rows = []

    def add(engine, name, runner, seconds, **extra):
        t0 = time.perf_counter()
        outputs = runner.outputs(evals)
        metrics = evaluate(model, outputs, reference, labels, chars)
        row = {"engine": engine, "config": name, **metrics, "build_s": round(seconds, 1),
               "eval_s": round(time.perf_counter() - t0, 1), **extra}
        if args.latency_runs > 0 and model in args.latency_models.split(","):
            row["latency_ms"], row["float32_latency_ms"] = paired_latency(runner, float_runner, evals[0],
                                                                         args.latency_runs)
        rows.append(row)
        log(f"  {model} {engine} {name}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                      for k, v in row.items() if k not in ("engine", "config")))
        # The finer measure next to the saturating metrics: SQNR of the outputs against float32's.
        ref = np.concatenate([np.asarray(r, np.float64).ravel() for r in reference])
        err = np.concatenate([np.asarray(o, np.float64).ravel() for o in outputs]) - ref
        noise = float((err ** 2).sum())
        row["output_sqnr_db"] = float(10 * np.log10((ref ** 2).sum() / noise)) if noise > 0 else None
        if args.ptq:
            log(f"    output SQNR {row['output_sqnr_db']}")
        return outputs

    t0 = time.perf_counter()
    float_runner = mixq_runner(mm.build("force_float32"))
    reference = float_runner.outputs(evals)
    add("mixq", "float32", float_runner, time.perf_counter() - t0)
    if not args.no_ort:
        add("ORT", "float32", ort_runner(onnx_path, input_name), 0.0)

    if args.ptq:
        # ReLU6 -> ReLU changes the float network itself: what that alone costs.
        t0 = time.perf_counter()
        relu = mixq.IBuilder().build_model("float32_cle", mm.network(), mixq.build_config(
            "force_float32", **PTQ_ROWS[2][1]))
        add("mixq", "float32, CLE relu6->relu", mixq_runner(relu), time.perf_counter() - t0,
            transforms="; ".join(json.loads(relu.get_precision_report_json()).get("transforms", [])))
        precision = "qint8_mixed_float32"
        for name, keys in [("none", {})] + PTQ_ROWS:
            t0 = time.perf_counter()
            built, transforms = build_ptq(mm, precision, keys, calib)
            add("mixq", f"{precision} linear, {name}", mixq_runner(built), time.perf_counter() - t0,
                transforms="; ".join(transforms))
        return {"model": model, "onnx": file, "input": dims, "calib_samples": len(calib), "eval_samples": len(evals),
                "mixq_version": mixq.__version__, "rows": rows}

    for cfg in ([] if args.tune_only else row_configs(model, not args.small, args.weights7, args.chains, args.like_ort)):
        t0 = time.perf_counter()
        built = mm.build(cfg["precision"], cfg["algo"], calib, cfg.get("asymmetric", False),
                         weights7=cfg.get("weights7", False), keys=cfg.get("keys"))
        name = (f"{cfg['precision']} {cfg['algo']}{' asymmetric' if cfg.get('asymmetric') else ''}"
                f"{' 7-bit weights' if cfg.get('weights7') else ''}{', ' + cfg['label'] if cfg.get('label') else ''}")
        add("mixq", name, mixq_runner(built), time.perf_counter() - t0)

    if model == "rec" and args.tune_seconds > 0:
        rows.append(tune_rec(mm, calib, evals, labels, chars, reference, float_runner, args, log))

    if not args.no_ort and not args.tune_only:
        methods = ["MinMax"] if args.small else args.ort_methods.split(",")
        for method in methods:
            t0 = time.perf_counter()
            try:
                qdq = ort_quantize(onnx_path, input_name, calib, method, work)
            except Exception as e:  # noqa: BLE001  (reported in the table, not hidden)
                rows.append({"engine": "ORT", "config": f"quantize_static {method}", "error": str(e)[:200]})
                log(f"  {model} ORT {method}: error {e}")
                continue
            add("ORT", f"quantize_static {method}", ort_runner(qdq, input_name), time.perf_counter() - t0)
    return {"model": model, "onnx": file, "input": dims, "calib_samples": len(calib), "eval_samples": len(evals),
            "mixq_version": mixq.__version__, "rows": rows}


def tune_rec(mm: MixqModel, calib, evals, labels, chars, reference, float_runner, args, log) -> dict:
    """mixq tune from qint8_mixed_float32 (args.tune_algo ranges) with a metric: the % of
    --tune-samples calibration lines (--tune-select: the first ones, or first those the start plan
    reads differently from float32) read as float32 reads them, at least 100 - --tune-margin."""
    import mixq

    precision, algo, asym = "qint8_mixed_float32", args.tune_algo, args.tune_asymmetric
    network, config, stats, _ = mm.calibrated(precision, asym, calib)
    calibrator = mixq.ICalibrator([])
    calibrator.set_quantization_algorithm(getattr(mixq.QuantizationAlgorithm, algo.upper()), PERCENTILE)
    calibrator.load_statistics(network, str(stats))
    float_texts = [ctc_decode(float_runner.run(x), chars).replace(" ", "") for x in calib]
    if args.tune_select == "hard":
        # The calibration lines the starting plan reads differently from float32, filled up with lines it
        # reads the same: on lines that every plan reads alike, the metric cannot tell plans apart.
        start = mixq_runner(mm.build(precision, algo, calib, asym))
        same = [ctc_decode(start.run(x), chars).replace(" ", "") == t for x, t in zip(calib, float_texts)]
        differ = [i for i, good in enumerate(same) if not good][: args.tune_samples]
        picked = sorted(differ + [i for i, good in enumerate(same) if good][: max(0, args.tune_samples - len(differ))])
        log(f"    tune lines: {len(differ)} of {len(calib)} calibration lines read differently from float32 by "
            f"the start plan, {len(picked) - len(differ)} read the same")
    else:
        picked = list(range(min(args.tune_samples, len(calib))))
    tune_x = [calib[i] for i in picked]
    tune_float = [float_texts[i] for i in picked]
    out_name = None

    float_frames = [np.argmax(float_runner.run(x), axis=-1) for x in tune_x] if args.tune_metric == "frames" else []

    def agreement(outputs) -> float:
        """% of the tuning lines whose text (spaces removed) is float32's, or with --tune-metric frames
        the % of CTC frames whose most likely character is float32's (a denser signal than whole lines)."""
        nonlocal out_name
        out_name = out_name or next(iter(outputs[0]))
        if args.tune_metric == "frames":
            same = sum(int(np.sum(np.argmax(o[out_name], axis=-1) == f)) for o, f in zip(outputs, float_frames))
            return 100.0 * same / sum(f.size for f in float_frames)
        texts = [ctc_decode(o[out_name], chars).replace(" ", "") for o in outputs]
        return 100.0 * sum(a == b for a, b in zip(texts, tune_float)) / len(texts)

    target = 100.0 - args.tune_margin
    t0 = time.perf_counter()
    if args.tune_config:  # a plan a tuning run chose before: evaluated, not searched again
        config_json = pathlib.Path(args.tune_config).read_text()
        chosen = json.loads(config_json).get("precision_config", {}).get("node_precision", {})
        result = types.SimpleNamespace(config_json=config_json, target_met=None, trajectory=[],
                                       stop_reason=f"config from {args.tune_config}",
                                       chosen=types.SimpleNamespace(node_precision=chosen))
    else:
        result = mixq.tune_precision(network, [mixq.ArrayCalibData(list(tune_x))], config, min_cosine=-1.0,
                                     time_budget_seconds=args.tune_seconds, num_threads=1,
                                     progress=lambda i, m: log(f"    tune {i}: {m}"),
                                     metric=lambda cand, ref: agreement(cand), min_metric=target)
        (pathlib.Path(args.out).parent / "rec_tuned.json").write_text(result.config_json)
    seconds = time.perf_counter() - t0
    built = mm.build(precision, algo, calib, asym, config_json=result.config_json)
    runner = mixq_runner(built)
    t1 = time.perf_counter()
    outputs = runner.outputs(evals)
    row = {"engine": "mixq", "config": f"tune {precision} {algo}{' asymmetric' if asym else ''}", **evaluate("rec", outputs, reference, labels, chars),
           "build_s": round(seconds, 1), "eval_s": round(time.perf_counter() - t1, 1),
           "tune": {"target": (f"same text as float32 on {len(tune_x)} calibration lines ({args.tune_select}) "
                               if args.tune_metric == "lines" else
                               f"same CTC frame argmax as float32 on {len(tune_x)} calibration lines ({args.tune_select}) ")
                              + f">= {target:.2f} %",
                    "target_met": result.target_met, "stop_reason": result.stop_reason,
                    "candidates": len(result.trajectory), "node_precision": dict(result.chosen.node_precision)}}
    if args.latency_runs > 0:
        row["latency_ms"], row["float32_latency_ms"] = paired_latency(runner, float_runner, evals[0],
                                                                     args.latency_runs)
    log(f"  rec tune: {row}")
    return row


METRIC_COLUMNS = {
    "rec": [("exact_match", "exact match %", ".1f"), ("norm_edit_distance", "norm. edit dist.", ".4f"),
            ("same_text_as_float", "same text as float %", ".1f")],
    "det": [("iou_vs_float", "IoU vs float (p > 0.3)", ".4f")],
    "cls": [("top1_agreement", "top-1 agreement %", ".1f"), ("accuracy", "accuracy %", ".1f")],
    "mnv2": [("top1_agreement", "top-1 agreement % (trivial)", ".1f"),
             ("centered_sqnr_db", "SQNR of logits - mean (dB)", ".2f")],
}
METRIC_COLUMNS["r50"] = METRIC_COLUMNS["mnv2"]
TITLES = {"rec": "PP-OCRv4 rec", "det": "PP-OCRv4 det", "cls": "PP-OCR v2.0 direction classifier",
          "mnv2": "MobileNetV2 (random weights)", "r50": "ResNet-50 (random weights)"}


def markdown(results: List[dict], command: str) -> str:
    lines = [f"Made by `{command}`", ""]
    for res in results:
        model = res["model"]
        cols = METRIC_COLUMNS[model]
        lines += [f"### {TITLES[model]}: {res['onnx']}, input {'x'.join(map(str, res['input']))}, "
                  f"{res['calib_samples']} calibration / {res['eval_samples']} evaluation samples", ""]
        head = ["engine", "config"] + [c[1] for c in cols] + ["latency ms (float32 ms)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in res["rows"]:
            if "error" in row:
                lines.append(f"| {row['engine']} | {row['config']} | error: {row['error']} |")
                continue
            cells = [row["engine"], row["config"]] + [
                "inf" if row[c[0]] is None else format(row[c[0]], c[2]) for c in cols]
            cells.append(f"{row['latency_ms']:.1f} ({row['float32_latency_ms']:.1f})" if "latency_ms" in row else "")
            lines.append("| " + " | ".join(cells) + " |")
            if "tune" in row:
                t = row["tune"]
                lines.append(f"| | (tune: {t['target']}; met on the tuning lines: {t['target_met']}; "
                             f"{t['candidates']} candidates in {row['build_s']} s; {t['stop_reason']}; "
                             f"promoted {t['node_precision']}) | |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "build" / "accuracy_data"), help="data sets (made if absent)")
    parser.add_argument("--out", default=str(ROOT / "build" / "accuracy_suite"), help="writes OUT.md and OUT.json")
    parser.add_argument("--models", default="rec,det,cls,mnv2")
    parser.add_argument("--rec", default="200,200")
    parser.add_argument("--det", default="40,40")
    parser.add_argument("--cls", default="100,200")
    parser.add_argument("--mnv2", default="50,100")
    parser.add_argument("--r50", default="50,100")
    parser.add_argument("--weights7", action="store_true",
                        help="also every qint8_mixed_float32 row with int8_weight_range 7bit")
    parser.add_argument("--small", action="store_true", help="only float32, qint8 linear, qint16 linear, ORT MinMax")
    parser.add_argument("--tune-seconds", type=float, default=900)
    parser.add_argument("--tune-samples", type=int, default=24)
    parser.add_argument("--tune-margin", type=float, default=0.5, help="tuning lines read as float32: >= 100 - this %%")
    parser.add_argument("--tune-algo", default="linear")
    parser.add_argument("--tune-config", help="evaluate this tuned builder config (from rec_tuned.json) "
                        "instead of searching")
    parser.add_argument("--tune-asymmetric", action="store_true",
                        help="tune from asymmetric activations (activation_quant_algo: asymmetric)")
    parser.add_argument("--tune-metric", choices=["lines", "frames"], default="lines",
                        help="tuning metric: %% of tuning lines read as float32, or %% of CTC frames whose argmax "
                             "is float32's (target: >= 100 - --tune-margin either way)")
    parser.add_argument("--tune-select", choices=["first", "hard"], default="hard",
                        help="tuning lines: the first calibration lines, or first those the start plan reads "
                             "differently from float32")
    parser.add_argument("--tune-only", action="store_true", help="only float32 and the tuned row")
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--latency-models", default="rec", help="models whose rows get a latency")
    parser.add_argument("--no-ort", action="store_true")
    parser.add_argument("--chains", action="store_true",
                        help="only float32, qint8 linear and qint8 linear with each kind of integer chain "
                             "(int8_rescale_chains, int8_table_chains)")
    parser.add_argument("--ort-methods", default="MinMax,Entropy,EntropyKL,Percentile",
                        help="ORT quantize_static calibration methods of the ORT rows (without --small)")
    parser.add_argument("--like-ort", action="store_true",
                        help="only float32 and qint8 linear / entropy / percentile with asymmetric activations, "
                             "as ORT quantize_static's uint8 ones (with the ORT rows)")
    parser.add_argument("--ptq", action="store_true",
                        help="only float32, qint8 linear and qint8 linear with each post-training transform "
                             "(bias correction, cross-layer equalization, SmoothQuant)")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    missing = missing_models(models)
    if missing:
        print(f"missing models {', '.join(missing)}: run scripts/fetch_models", file=sys.stderr)
        return 2
    command = "tests/models/suite.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            n_calib, n_eval = make_data.parse_counts(getattr(args, model))
            t0 = time.perf_counter()
            data = DATA_OF.get(model, model)
            calib = make_data.load_or_make(pathlib.Path(args.data), data, "calib", n_calib)
            evaluation = make_data.load_or_make(pathlib.Path(args.data), data, "eval", n_eval)
            print(f"{model}: data {time.perf_counter() - t0:.1f} s", flush=True)
            res = run_model(model, calib["x"], evaluation["x"], evaluation.get("labels"), args, pathlib.Path(tmp),
                            log=lambda m: print(m, flush=True))
            results.append(res)
            pathlib.Path(args.out + ".json").write_text(json.dumps({"command": command, "results": results},
                                                                   indent=1))
    pathlib.Path(args.out + ".md").write_text(markdown(results, command))
    print(markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
