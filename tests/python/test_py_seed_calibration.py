"""The seed's Python CalibDataInterface, as written in the article, against the mixq package.

The seed derives an abstract Python class from ``cc.CalibDataInterface``; users
derive their data set from it. Here that class is copied unchanged, a data set
derives from it, calibrates an ONNX model and the built int8 model runs.
"""
import json

import numpy as np
import pytest

import mixq
from mixq import basic_types, enums
from mixq import calibration as cc
from py_models import assert_int8_close, calibration_images, ort_outputs, small_cnn


# --- the seed's class, unchanged ---
class CalibDataInterface(cc.CalibDataInterface):
    def __init__(self):
        cc.CalibDataInterface.__init__(self)
    def get_shape(self) -> basic_types.Dims:
        raise NotImplementedError
    
    def next(self) -> basic_types.Status:
        raise NotImplementedError
    def reset(self) -> basic_types.Status:
        raise NotImplementedError
    def get_sample(self) -> np.ndarray:
        raise NotImplementedError
    def get_data_type(self) -> enums.DataType:
        raise NotImplementedError
# --- end of the seed's class ---


class ImageList(CalibDataInterface):
    """A user's data set: a list of images, one sample each."""

    def __init__(self, images):
        CalibDataInterface.__init__(self)
        self.images = images
        self.index = -1

    def get_shape(self) -> basic_types.Dims:
        return basic_types.Dims(list(self.images[self.index].shape))

    def next(self) -> basic_types.Status:
        self.index += 1
        if self.index >= len(self.images):
            return basic_types.Status(enums.StatusCode.OUT_OF_RANGE, "no more images")
        return basic_types.Status.OK()

    def reset(self) -> basic_types.Status:
        self.index = -1
        return basic_types.Status.OK()

    def get_sample(self) -> np.ndarray:
        return self.images[self.index]

    def get_data_type(self) -> enums.DataType:
        return enums.DataType.FLOAT32


def parse_cnn(onnx_path):
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(onnx_path))
    return network


def test_seed_class_calibrates_onnx_model_and_the_built_model_runs(tmp_path):
    onnx_path = small_cnn(tmp_path / "cnn.onnx")
    images = calibration_images()
    network = parse_cnn(onnx_path)
    config = mixq.IBuilderConfig()
    config.parse_from_string('{"precision_config": {"precision_mode": "qint8_mixed_float32"}}')

    data = ImageList(images)
    calibrator = cc.create_i_calibrator(data)
    calibrator.set_quantization_algorithm(enums.QuantizationAlgorithm.LINEAR)
    calibrator.calibrate(network, config)

    # linear = min/max over every sample: the input's range is known exactly.
    calibrator.write_range_table(network, config, str(tmp_path / "ranges.json"))
    table = json.loads((tmp_path / "ranges.json").read_text())
    assert table["algorithm"] == "linear"
    everything = np.concatenate([image.ravel() for image in images])
    assert table["ranges"]["x"] == pytest.approx([float(everything.min()), float(everything.max())], rel=1e-6)
    assert data.index == len(images)  # every sample was read, then OUT_OF_RANGE

    model = mixq.IBuilder().build_model("cnn_q8", network, config)
    rows = {row["op"]: row for row in model.get_precision_report_rows()}
    assert {i["tensor"]: i["actual"] for i in rows["Conv2D"]["inputs"]} == {"x": "QINT8", "conv_w": "QINT8",
                                                                           "conv_b": "FLOAT32"}
    assert "QINT8" in model.get_precision_report()

    x = images[2]
    context = model.create_i_engine().create_i_context()
    prob, logits = context.enqueue([x])
    want = ort_outputs(onnx_path, {"x": x})
    assert prob.shape == (1, 5) and logits.shape == (1, 5)
    # int8 activations and weights: close to float, not equal to it.
    assert_int8_close(logits, want["logits"])
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-5)


def test_seed_base_class_methods_raise_not_implemented(tmp_path):
    """A class that forgets to override raises the seed's NotImplementedError through calibrate."""
    network = parse_cnn(small_cnn(tmp_path / "cnn.onnx"))
    config = mixq.IBuilderConfig()
    config.parse_from_string('{"precision_config": {"precision_mode": "qint8_mixed_float32"}}')
    with pytest.raises(NotImplementedError):
        cc.create_i_calibrator(CalibDataInterface()).calibrate(network, config)
