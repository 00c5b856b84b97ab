"""Calibrating and quantizing without writing a CalibDataInterface class."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from ._mixq import (
    CalibDataInterface,
    DataType,
    Dims,
    IBuilder,
    IBuilderConfig,
    ICalibrator,
    IModel,
    INetwork,
    IParser,
    MixqError,
    QuantizationAlgorithm,
    Status,
    StatusCode,
    numpy_dtype,
)

Sample = Union[np.ndarray, Mapping[str, np.ndarray], Sequence[np.ndarray]]

_ALGORITHMS = {
    "linear": QuantizationAlgorithm.LINEAR,
    "eqnm": QuantizationAlgorithm.EQNM,
    "entropy": QuantizationAlgorithm.ENTROPY,
    "percentile": QuantizationAlgorithm.PERCENTILE,
    "auto": QuantizationAlgorithm.AUTO,
}


def _algorithm(algo: Union[str, QuantizationAlgorithm]) -> QuantizationAlgorithm:
    if isinstance(algo, QuantizationAlgorithm):
        return algo
    try:
        return _ALGORITHMS[str(algo).lower()]
    except KeyError:
        raise ValueError(f"unknown calibration algorithm {algo!r}; one of {', '.join(_ALGORITHMS)}") from None


class _SampleFeed:
    """One pass over the user's samples, shared by the data interfaces of all inputs.

    The calibrator asks every input for its next sample in input order, so the
    first input's ``next()`` advances the feed and the others read the same item.
    """

    def __init__(self, samples: Iterable[Sample], input_names: Sequence[str]):
        self._samples = samples
        self._input_names = list(input_names)
        self._iterator = None
        self._current: Optional[Sample] = None
        self._index = -1

    def reset(self) -> None:
        # iter() again: a list starts over, a generator goes on where it was (one pass only).
        self._iterator = iter(self._samples)
        self._current = None
        self._index = -1

    def advance(self) -> bool:
        if self._iterator is None:
            self.reset()
        try:
            self._current = next(self._iterator)
        except StopIteration:
            self._current = None
            return False
        self._index += 1
        return True

    def array_for(self, input_index: int) -> np.ndarray:
        item, name = self._current, self._input_names[input_index]
        if isinstance(item, Mapping):
            if name not in item:
                raise _error(StatusCode.INVALID_ARGUMENT,
                                    f"calibration sample {self._index} has no array for input '{name}' "
                                    f"(it has {', '.join(repr(k) for k in item)})")
            unknown = [k for k in item if k not in self._input_names]
            if unknown:
                raise _error(StatusCode.INVALID_ARGUMENT,
                                    f"calibration sample {self._index} names {', '.join(map(repr, unknown))}, "
                                    f"which the network does not take (inputs: {', '.join(self._input_names)})")
            return item[name]
        if isinstance(item, (list, tuple)):
            if len(item) != len(self._input_names):
                raise _error(StatusCode.INVALID_ARGUMENT,
                                    f"calibration sample {self._index} has {len(item)} arrays; the network has "
                                    f"{len(self._input_names)} inputs")
            return item[input_index]
        if len(self._input_names) != 1:
            raise _error(StatusCode.INVALID_ARGUMENT,
                                f"calibration sample {self._index} is one array but the network has "
                                f"{len(self._input_names)} inputs: give dicts {{name: array}}")
        return item


def _error(code: StatusCode, message: str) -> MixqError:
    """A MixqError like the ones the C++ side raises (code, message, status)."""
    error = MixqError(f"{code.name}: {message}")
    error.code, error.message, error.status = code, message, Status(code, message)
    return error


class ArrayCalibData(CalibDataInterface):
    """The samples of one network input, taken from numpy arrays.

    ``samples`` is any iterable of arrays (one per sample; shapes may differ
    between samples). Float arrays are converted to the input's dtype.
    Several inputs sharing one iterable of dicts: see :func:`calibrate`.
    """

    def __init__(self, samples: Union[Iterable[np.ndarray], _SampleFeed], data_type: DataType = DataType.FLOAT32,
                 input_index: int = 0, leader: bool = True):
        CalibDataInterface.__init__(self)
        self._feed = samples if isinstance(samples, _SampleFeed) else _SampleFeed(samples, ["input"])
        self._input_index = input_index
        self._leader = leader
        # Quantized inputs receive float data (SPEC §2).
        self._data_type = DataType.FLOAT32 if data_type in (DataType.QINT8, DataType.QINT16) else data_type
        self._sample: Optional[np.ndarray] = None

    def get_shape(self) -> Dims:
        return Dims(list(self._sample.shape))

    def get_data_type(self) -> DataType:
        return self._data_type

    def next(self) -> Status:
        if self._leader and not self._feed.advance():
            return Status(StatusCode.OUT_OF_RANGE, "no more samples")
        if self._feed._current is None:
            return Status(StatusCode.OUT_OF_RANGE, "no more samples")
        array = np.asarray(self._feed.array_for(self._input_index))
        if array.dtype.kind == "f":
            array = array.astype(numpy_dtype(self._data_type), copy=False)
        self._sample = np.ascontiguousarray(array)
        return Status.OK()

    def reset(self) -> Status:
        if self._leader:
            self._feed.reset()
        return Status.OK()

    def get_sample(self) -> np.ndarray:
        return self._sample


def calibrate(network: INetwork, samples: Iterable[Sample], config: Optional[IBuilderConfig] = None,
              algo: Union[str, QuantizationAlgorithm] = "linear", percentile: float = 99.99,
              statistics_file: Optional[Union[str, os.PathLike]] = None) -> ICalibrator:
    """Calibrates ``network`` on ``samples`` and returns the calibrator.

    ``samples``: an iterable whose items are a numpy array (one-input
    networks), a dict ``{input_name: array}``, or a tuple of arrays in input
    order. ``algo``: "linear", "eqnm", "entropy", "percentile" or "auto". With
    ``statistics_file`` the statistics are also saved there (reload them with
    ``ICalibrator.load_statistics`` to try another algorithm without the data).
    """
    inputs = [network.get_input(i) for i in range(network.get_input_count())]
    feed = _SampleFeed(samples, [t.get_tensor_name() for t in inputs])
    data = [ArrayCalibData(feed, t.get_data_type(), input_index=i, leader=(i == 0)) for i, t in enumerate(inputs)]
    calibrator = ICalibrator(data)
    calibrator.set_quantization_algorithm(_algorithm(algo), percentile)
    calibrator.calibrate(network, config)
    if statistics_file is not None:
        calibrator.save_statistics(network, os.fspath(statistics_file))
    return calibrator


def build_config(precision_mode: str = "force_float32", **precision_config: Any) -> IBuilderConfig:
    """A builder config: ``precision_mode`` plus any other ``precision_config`` keys
    (``weight_quant_granularity="per_axis"``, ``activation_quant_algo="asymmetric"``, ...)."""
    config = IBuilderConfig()
    config.parse_from_string(json.dumps({"precision_config": {"precision_mode": precision_mode, **precision_config}}))
    return config


def quantize(onnx_path: Union[str, os.PathLike], calib_data: Optional[Iterable[Sample]],
             precision_mode: str = "qint8_mixed_float32", algo: Union[str, QuantizationAlgorithm] = "linear",
             percentile: float = 99.99, input_shapes: Optional[Mapping[str, Sequence[int]]] = None,
             name: Optional[str] = None, **precision_config: Any) -> IModel:
    """Imports an ONNX model, calibrates it on ``calib_data`` and builds it.

    ``calib_data`` as for :func:`calibrate` (None: no calibration, for float
    modes or dynamic quantization). ``input_shapes`` fixes input dims before
    import, e.g. ``{"x": [1, 3, 224, 224]}``. Further keyword arguments are
    ``precision_config`` keys (see :func:`build_config`). Returns the built
    :class:`IModel` (``serialize_to_file`` saves it).
    """
    network = INetwork()
    parser = IParser()
    for input_name, dims in (input_shapes or {}).items():
        parser.set_input_shape(input_name, Dims(list(dims)))
    parser.parse(network, os.fspath(onnx_path))
    config = build_config(precision_mode, **precision_config)
    if calib_data is not None:
        calibrate(network, calib_data, config, algo=algo, percentile=percentile)
    model_name = name or os.path.splitext(os.path.basename(os.fspath(onnx_path)))[0]
    return IBuilder().build_model(model_name, network, config)
