"""mixq: a mixed-precision inference engine.

The C++ API, names in snake_case (``INetwork.add_i_conv_node``, ``INode.set_precision``,
``IBuilder.build_model``, ...), plus conveniences written in Python:

- :func:`quantize`: ONNX file + calibration samples -> built model, in one call;
- :func:`calibrate` and :class:`ArrayCalibData`: calibrate from numpy arrays or dicts, no class to write;
- :func:`analyze`: layer-wise error of a quantized build against float32, operators ranked by harm;
- :func:`tune`: per-node precisions that meet an output accuracy target (``mixq tune``);
- :class:`Session`: runs a model like ``onnxruntime.InferenceSession``.

Errors raise :class:`MixqError`, whose ``code`` and ``message`` are the C++ Status's.
The modules ``mixq.basic_types``, ``mixq.enums`` and ``mixq.calibration`` group the
names as the seed's Python example uses them (``basic_types.Dims``, ``enums.DataType``,
``calibration.CalibDataInterface``).
"""
import os as _os

# OpenMP workers that spin long between parallel regions (libgomp's default)
# take a core from everything else on a busy machine (4-8x slower inference
# measured), and workers that never spin pay a futex wake per step (1.6-1.8x
# slower at 2 threads on an AMD VM): a spin then sleep, the spin longer when
# nothing else was runnable at import (src/util/omp_wait_policy.h, the same
# rule as mixq's executables). libgomp reads these once, when it is loaded
# by the import below; a value the user set for either is kept.


def _runnable_in_loadavg(text):
    """/proc/loadavg's runnable count ("0.66 0.85 0.99 1/86 1891": 1), or -1."""
    fields = text.split()
    if len(fields) < 4 or "/" not in fields[3]:
        return -1
    runnable = fields[3].split("/", 1)[0]
    return int(runnable) if runnable.isdigit() else -1


def _spin_count_for_start(loadavg_readings):
    """The GOMP_SPINCOUNT for a start whose /proc/loadavg readings (this
    process among the runnable) are given: "10000" when no reading saw
    another runnable entity, else "1000"."""
    runnable = [_runnable_in_loadavg(text) for text in loadavg_readings]
    if not runnable or min(runnable) < 1:
        return "1000"
    return "10000" if min(runnable) - 1 == 0 else "1000"


def _loadavg_readings(count=4):
    import time

    readings = []
    for i in range(count):
        if i:
            time.sleep(0.001)
        try:
            with open("/proc/loadavg") as f:
                readings.append(f.read())
        except OSError:
            return []
    return readings


if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    _os.environ["GOMP_SPINCOUNT"] = _spin_count_for_start(_loadavg_readings())

from ._mixq import (  # noqa: F401  (the public C++ API, re-exported)
    AccuracyAnalysis,
    ActivationType,
    CalibDataInterface,
    ContextOptions,
    DataType,
    Dims,
    ElementwiseOp,
    IActivationNode,
    IAvgPool2DNode,
    IBatchNormNode,
    IBuilder,
    IBuilderConfig,
    ICalibrator,
    IConcatNode,
    IConstNode,
    IContext,
    IConvNode,
    IConvTranspose2DNode,
    IElementwiseNode,
    IEngine,
    IFullyConnectedNode,
    IGlobalAvgPoolNode,
    ILayerNormNode,
    IMatMulNode,
    IMaxPool2DNode,
    IModel,
    INetwork,
    INode,
    IPadNode,
    IParser,
    IPool2DNode,
    IResizeNode,
    ITensor,
    Layout,
    MixqError,
    ModelKind,
    OperatorImpact,
    PaddingMode,
    PadMode,
    QuantizationAlgorithm,
    QuantizationParameters,
    Range,
    ReduceOp,
    ResizeMode,
    Status,
    StatusCode,
    TensorError,
    TuneCandidate,
    TuneComparison,
    TuneResult,
    UnaryOp,
    analyze_accuracy,
    create_i_builder,
    create_i_builder_config,
    create_i_calibrator,
    create_i_model,
    create_i_network,
    create_i_parser,
    data_type_name,
    data_type_size,
    numpy_dtype,
    parse_data_type,
    quantization_algorithm_name,
    tune_precision,
)
from ._mixq import __version__  # noqa: F401  (from project(VERSION) in CMakeLists.txt)
from .analysis import analyze, tune  # noqa: F401
from .convenience import ArrayCalibData, build_config, calibrate, quantize  # noqa: F401
from .session import Session, TensorInfo  # noqa: F401

# Shorter names for the classes a Python user constructs.
Network = INetwork
BuilderConfig = IBuilderConfig
Builder = IBuilder
Calibrator = ICalibrator
Model = IModel
Parser = IParser
