"""Bad input through the Python API: each case raises a clear exception, and the
interpreter goes on working (a good calibration / run afterwards still gives the right numbers)."""
import traceback

import numpy as np
import pytest

import mixq
from mixq import calibration as cc
from py_models import assert_int8_close, calibration_images, ort_outputs, small_cnn


class Images(cc.CalibDataInterface):
    """A well-behaved data set; the tests below break one method at a time."""

    def __init__(self, images):
        cc.CalibDataInterface.__init__(self)
        self.images, self.index = images, -1

    def get_shape(self):
        return mixq.Dims(list(self.images[self.index].shape))

    def get_data_type(self):
        return mixq.DataType.FLOAT32

    def next(self):
        self.index += 1
        return mixq.Status() if self.index < len(self.images) else mixq.Status(mixq.StatusCode.OUT_OF_RANGE, "end")

    def reset(self):
        self.index = -1
        return mixq.Status.OK()

    def get_sample(self):
        return self.images[self.index]


@pytest.fixture
def cnn(tmp_path):
    return small_cnn(tmp_path / "cnn.onnx")


def q8_network(onnx_path):
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(onnx_path))
    return network, mixq.build_config("qint8_mixed_float32")


def calibrate_and_check_still_works(onnx_path):
    """After an error: a fresh calibration and build still give int8 numbers close to float."""
    network, config = q8_network(onnx_path)
    images = calibration_images()
    cc.create_i_calibrator(Images(images)).calibrate(network, config)
    model = mixq.IBuilder().build_model("after_error", network, config)
    _, logits = model.create_i_engine().create_i_context().enqueue([images[0]])
    assert_int8_close(logits, ort_outputs(onnx_path, {"x": images[0]})["logits"])


def test_sample_of_wrong_dtype_names_the_input(cnn):
    class Float64Images(Images):
        def get_sample(self):
            return self.images[self.index].astype(np.float64)

    network, config = q8_network(cnn)
    with pytest.raises(mixq.MixqError) as error:
        cc.create_i_calibrator(Float64Images(calibration_images())).calibrate(network, config)
    assert error.value.code == mixq.StatusCode.INVALID_ARGUMENT
    assert "'x'" in error.value.message and "float64" in error.value.message and "FLOAT32" in error.value.message
    calibrate_and_check_still_works(cnn)


def test_sample_of_wrong_shape_names_the_input(cnn):
    class WrongShape(Images):
        def get_sample(self):
            return self.images[self.index][:, :, :4, :]  # get_shape says 8x8

    network, config = q8_network(cnn)
    with pytest.raises(mixq.MixqError) as error:
        cc.create_i_calibrator(WrongShape(calibration_images())).calibrate(network, config)
    assert error.value.code == mixq.StatusCode.INVALID_ARGUMENT
    assert "'x'" in error.value.message and "[1,3,4,8]" in error.value.message and "[1,3,8,8]" in error.value.message
    calibrate_and_check_still_works(cnn)


def test_shape_the_network_does_not_take_names_the_input(cnn):
    network, config = q8_network(cnn)
    wrong = [np.zeros((1, 3, 5, 5), np.float32)]  # consistent with itself, but the network takes 8x8
    with pytest.raises(mixq.MixqError) as error:
        cc.create_i_calibrator(Images(wrong)).calibrate(network, config)
    assert "'x'" in error.value.message and "[1,3,5,5]" in error.value.message


def test_exception_inside_next_propagates_with_its_traceback(cnn):
    class Exploding(Images):
        def next(self):
            if self.index == 2:
                raise ValueError("disk on fire at sample 3")
            return super().next()

    network, config = q8_network(cnn)
    with pytest.raises(ValueError, match="disk on fire at sample 3") as error:
        cc.create_i_calibrator(Exploding(calibration_images())).calibrate(network, config)
    frames = traceback.extract_tb(error.value.__traceback__)
    assert any(frame.name == "next" and "disk on fire" in (frame.line or "") for frame in frames)
    # The calibrator's own view goes along as a note (Python 3.11+).
    notes = getattr(error.value, "__notes__", [])
    assert any("Next() for sample 3 of input 0 ('x')" in note for note in notes) or not hasattr(error.value, "add_note")
    calibrate_and_check_still_works(cnn)


def test_next_returning_a_non_status_is_an_error(cnn):
    class ReturnsBool(Images):
        def next(self):
            super().next()
            return True

    network, config = q8_network(cnn)
    with pytest.raises(mixq.MixqError, match="next\\(\\) returned bool, not a mixq.Status"):
        cc.create_i_calibrator(ReturnsBool(calibration_images())).calibrate(network, config)


def test_wrong_input_name_in_session_run(cnn, tmp_path):
    session = mixq.Session(cnn)
    x = calibration_images()[0]
    with pytest.raises(mixq.MixqError) as error:
        session.run(None, {"images": x})
    assert error.value.code == mixq.StatusCode.INVALID_ARGUMENT
    assert "'images'" in error.value.message and "missing input(s) 'x'" in error.value.message
    with pytest.raises(mixq.MixqError, match="no output named 'probs'"):
        session.run(["probs"], {"x": x})
    np.testing.assert_allclose(session.run(["logits"], {"x": x})[0], ort_outputs(cnn, {"x": x})["logits"],
                               rtol=1e-5, atol=1e-6)


def test_wrong_input_name_in_calibration_dicts(cnn):
    network, config = q8_network(cnn)
    with pytest.raises(mixq.MixqError, match="no array for input 'x'"):
        mixq.calibrate(network, [{"image": image} for image in calibration_images()], config)


def test_wrong_dtype_at_run_time_names_the_input(cnn):
    context = mixq.Session(cnn).model.create_i_engine().create_i_context()
    with pytest.raises(mixq.MixqError, match="input 0 \\('x'\\) is a float64 array; the model takes float32"):
        context.enqueue([np.zeros((1, 3, 8, 8))])
    with pytest.raises(mixq.MixqError, match="2 arrays were given"):
        context.enqueue([np.zeros((1, 3, 8, 8), np.float32)] * 2)


def test_corrupt_model_file(cnn, tmp_path):
    model = mixq.quantize(cnn, calibration_images(), precision_mode="qint8_mixed_float32")
    path = tmp_path / "cnn.mixq"
    model.serialize_to_file(str(path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    corrupt = tmp_path / "corrupt.mixq"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(mixq.MixqError) as error:
        mixq.IModel().deserialize_from_file(str(corrupt))
    assert error.value.code == mixq.StatusCode.DATA_LOSS
    assert "checksum" in error.value.message.lower()
    truncated = tmp_path / "truncated.mixq"
    truncated.write_bytes(bytes(data[:100]))
    with pytest.raises(mixq.MixqError) as error:
        mixq.Session(truncated)
    assert error.value.code == mixq.StatusCode.DATA_LOSS
    with pytest.raises(mixq.MixqError) as error:
        mixq.IModel().deserialize_from_file(str(tmp_path / "missing.mixq"))
    assert "missing.mixq" in error.value.message
    # The good file still loads and runs.
    x = calibration_images()[1]
    loaded = mixq.Session(path)
    np.testing.assert_array_equal(loaded.run(None, {"x": x})[1],
                                  model.create_i_engine().create_i_context().enqueue([x])[1])


def test_bad_builder_config_names_the_key():
    config = mixq.IBuilderConfig()
    with pytest.raises(mixq.MixqError) as error:
        config.parse_from_string('{"precision_config": {"precision_mod": "force_float16"}}')
    assert error.value.code == mixq.StatusCode.INVALID_ARGUMENT and "precision_mod" in error.value.message


def test_null_network_results_raise_with_the_networks_status():
    network = mixq.INetwork()
    x = network.add_i_input(mixq.DataType.FLOAT32, [1, 4])
    with pytest.raises(mixq.MixqError):
        network.add_i_concat_node([], 0)
    assert network.get_last_status().code() != mixq.StatusCode.OK
    assert network.add_i_activation_node(x, mixq.ActivationType.RELU).get_op_type() != ""
