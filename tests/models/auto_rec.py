#!/usr/bin/env python3
"""PP-OCRv4 rec with each range algorithm, measured on held-out lines (docs/accuracy.md, "The auto range algorithm").

    .venv/bin/python tests/models/auto_rec.py N_CALIB N_EVAL ALGO[:KEPT] ...

Calibrates on the first N_CALIB lines of the suite's calibration set and measures on the first N_EVAL lines
of its evaluation set (tests/models/make_data.py, made if absent, in build/accuracy_data): output SQNR against
float32, exact match and edit distance (tests/models/suite.py's metrics), calibration seconds. ALGO is
linear, eqnm, entropy, percentile or auto; KEPT is auto's precision_config.auto_output_samples (default 8;
0: the histogram proxy alone). Prints one JSON line per ALGO.
"""
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_data  # noqa: E402
import suite  # noqa: E402


def main(argv):
    import mixq

    n_calib, n_eval, specs = int(argv[0]), int(argv[1]), argv[2:]
    data = suite.ROOT / "build" / "accuracy_data"
    calib = list(make_data.load_or_make(data, "rec", "calib", n_calib)["x"])
    evaluation = make_data.load_or_make(data, "rec", "eval", n_eval)
    evals, labels = list(evaluation["x"]), evaluation["labels"]
    onnx_path = suite.models_dir() / suite.MODEL_FILES["rec"][0]
    chars = suite.rec_dictionary(onnx_path)

    def network():
        net, parser = mixq.INetwork(), mixq.IParser()
        parser.set_input_shape("x", mixq.Dims(list(calib[0].shape)))
        parser.parse(net, str(onnx_path))
        return net

    float_model = mixq.IBuilder().build_model("float32", network(), mixq.build_config("force_float32"))
    reference = suite.mixq_runner(float_model).outputs(evals)
    ref = np.concatenate([np.asarray(r, np.float64).ravel() for r in reference])
    for spec in specs:
        algo, _, kept = spec.partition(":")
        net = network()
        config = mixq.build_config("qint8_mixed_float32", auto_output_samples=int(kept or 8))
        t0 = time.perf_counter()
        mixq.calibrate(net, calib, config, algo=algo)
        seconds = time.perf_counter() - t0
        outputs = suite.mixq_runner(mixq.IBuilder().build_model("q", net, config)).outputs(evals)
        metrics = suite.evaluate("rec", outputs, reference, labels, chars)
        err = np.concatenate([np.asarray(o, np.float64).ravel() for o in outputs]) - ref
        sqnr = float(10 * np.log10((ref ** 2).sum() / (err ** 2).sum()))
        print(json.dumps({"algo": algo, "auto_output_samples": int(kept or 8), "calibration_s": round(seconds, 1),
                          "output_sqnr_db": round(sqnr, 2), **{k: round(v, 4) for k, v in metrics.items()}}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
