// DataType, Dims, Status (and the exception it becomes), Range, quantization
// parameters and the small enums of the public API.
#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "mixq/calibrator.h"
#include "mixq/network.h"
#include "mixq/parser.h"

namespace mixq::python {
namespace {

// Created once at import; deliberately never released (interpreter teardown
// order would otherwise decide when it is freed).
PyObject* g_mixq_error = nullptr;

}  // namespace

void RaiseStatus(const Status& status) {
  py::object error = py::reinterpret_borrow<py::object>(g_mixq_error)(status.ToString());
  error.attr("code") = status.code();
  error.attr("message") = status.message();
  error.attr("status") = status;
  PyErr_SetObject(g_mixq_error, error.ptr());
  throw py::error_already_set();
}

void ThrowIfError(const Status& status) {
  if (!status.ok()) RaiseStatus(status);
}

py::dtype DtypeFor(DataType type) {
  switch (type) {
    case DataType::FLOAT32:
      return py::dtype::of<float>();
    case DataType::FLOAT16:
      return py::dtype("float16");
    case DataType::BFLOAT16:
      return py::dtype::of<uint16_t>();
    case DataType::INT8:
    case DataType::QINT8:
      return py::dtype::of<int8_t>();
    case DataType::INT16:
    case DataType::QINT16:
      return py::dtype::of<int16_t>();
    case DataType::INT32:
      return py::dtype::of<int32_t>();
    case DataType::INT64:
      return py::dtype::of<int64_t>();
    case DataType::UINT8:
      return py::dtype::of<uint8_t>();
    case DataType::BOOL:
      return py::dtype::of<bool>();
  }
  throw py::value_error("no numpy dtype for data type " + std::to_string(static_cast<int>(type)));
}

std::string DtypeName(const py::dtype& dtype) {
  return dtype.attr("name").cast<std::string>();
}

void BindTypes(py::module_& m) {
  g_mixq_error = PyErr_NewExceptionWithDoc(
      "mixq.MixqError", "A mixq call failed. Attributes: code (StatusCode), message (str), status (Status).",
      PyExc_RuntimeError, nullptr);
  m.attr("MixqError") = py::handle(g_mixq_error);

  py::enum_<DataType>(m, "DataType", "Element types; QINT8 / QINT16 are quantized compute precisions.")
      .value("FLOAT32", DataType::FLOAT32)
      .value("FLOAT16", DataType::FLOAT16)
      .value("BFLOAT16", DataType::BFLOAT16)
      .value("INT8", DataType::INT8)
      .value("INT16", DataType::INT16)
      .value("INT32", DataType::INT32)
      .value("INT64", DataType::INT64)
      .value("UINT8", DataType::UINT8)
      .value("BOOL", DataType::BOOL)
      .value("QINT8", DataType::QINT8)
      .value("QINT16", DataType::QINT16);
  m.def("data_type_name", &DataTypeName, py::arg("type"), "'FLOAT32', 'QINT8', ...");
  m.def("data_type_size", &DataTypeSize, py::arg("type"), "Bytes one element occupies in memory.");
  m.def(
      "parse_data_type",
      [](const std::string& name) {
        DataType type;
        if (!ParseDataType(name, &type))
          RaiseStatus(Status(StatusCode::INVALID_ARGUMENT, "unknown data type '" + name + "'"));
        return type;
      },
      py::arg("name"), "The DataType named `name` (case-insensitive); raises MixqError if unknown.");
  m.def("numpy_dtype", &DtypeFor, py::arg("type"),
        "The numpy dtype of a DataType's run-time data (BFLOAT16: uint16 bits; QINT8: int8).");

  py::enum_<StatusCode>(m, "StatusCode")
      .value("OK", StatusCode::OK)
      .value("INVALID_ARGUMENT", StatusCode::INVALID_ARGUMENT)
      .value("OUT_OF_RANGE", StatusCode::OUT_OF_RANGE)
      .value("NOT_FOUND", StatusCode::NOT_FOUND)
      .value("UNIMPLEMENTED", StatusCode::UNIMPLEMENTED)
      .value("FAILED_PRECONDITION", StatusCode::FAILED_PRECONDITION)
      .value("DATA_LOSS", StatusCode::DATA_LOSS)
      .value("INTERNAL", StatusCode::INTERNAL);

  py::class_<Status>(m, "Status",
                     "Result of a call that can fail. Python methods of the API raise MixqError instead of\n"
                     "returning a failed Status; a CalibDataInterface's next() and reset() return one.")
      .def(py::init<>(), "An OK status.")
      .def(py::init<StatusCode, std::string>(), py::arg("code"), py::arg("message") = "")
      .def_static("OK", &Status::OK, "An OK status.")
      .def("ok", &Status::ok)
      .def("code", &Status::code)
      .def("message", &Status::message)
      .def("to_string", &Status::ToString, "'INVALID_ARGUMENT: message' or 'OK'.")
      .def("__repr__", [](const Status& s) { return "Status(" + s.ToString() + ")"; })
      .def("__eq__", [](const Status& s, StatusCode code) { return s == code; })
      .def("__eq__",
           [](const Status& a, const Status& b) { return a.code() == b.code() && a.message() == b.message(); })
      .def("__hash__", [](const Status& s) { return static_cast<int>(s.code()); });

  py::class_<Dims>(m, "Dims", "Tensor dimensions; -1 marks a dimension only known at run time.")
      .def(py::init<>())
      .def(py::init<std::vector<int64_t>>(), py::arg("dims"))
      .def("get_dims_num", &Dims::GetDimsNum)
      .def("get_dim_value",
           [](const Dims& d, int64_t index) {
             if (index < 0 || index >= d.GetDimsNum()) throw py::index_error("dim index out of range");
             return d.GetDimValue(index);
           })
      .def("set_dim_value",
           [](Dims& d, int64_t index, int64_t value) {
             if (index < 0 || index >= d.GetDimsNum()) throw py::index_error("dim index out of range");
             d.SetDimValue(index, value);
           })
      .def("get_element_count", &Dims::GetElementCount, "Product of the dims; -1 if any is dynamic.")
      .def("has_dynamic_dim", &Dims::HasDynamicDim)
      .def("get_dims", &Dims::GetDims, "The dims as a list.")
      .def("to_string", &Dims::ToString)
      .def("__len__", [](const Dims& d) { return d.GetDimsNum(); })
      .def("__getitem__",
           [](const Dims& d, int64_t index) {
             if (index < 0) index += d.GetDimsNum();
             if (index < 0 || index >= d.GetDimsNum()) throw py::index_error("dim index out of range");
             return d.GetDimValue(index);
           })
      .def("__iter__", [](const Dims& d) { return py::iter(py::cast(d.GetDims())); })
      .def("__eq__", [](const Dims& a, const Dims& b) { return a == b; })
      .def("__eq__", [](const Dims& a, const std::vector<int64_t>& b) { return a.GetDims() == b; })
      .def("__repr__", [](const Dims& d) { return "Dims(" + d.ToString() + ")"; });
  // Lists and tuples of ints are accepted wherever Dims are.
  py::implicitly_convertible<py::list, Dims>();
  py::implicitly_convertible<py::tuple, Dims>();

  py::class_<Range>(m, "Range", "A closed interval [min, max] of real values.")
      .def(py::init<>())
      .def(py::init([](float min, float max) {
             return Range{min, max};
           }),
           py::arg("min"), py::arg("max"))
      .def_readwrite("min", &Range::min)
      .def_readwrite("max", &Range::max)
      .def("__repr__",
           [](const Range& r) { return "Range(" + std::to_string(r.min) + ", " + std::to_string(r.max) + ")"; });
  py::implicitly_convertible<py::tuple, Range>();

  py::class_<QuantizationParameters>(m, "QuantizationParameters",
                                     "Exact scales and zero points (a QAT model's); per axis when axis >= 0.")
      .def(py::init<>())
      .def(py::init([](int bits, std::vector<float> scales, std::vector<int32_t> zero_points, int64_t axis) {
             return QuantizationParameters{bits, std::move(scales), std::move(zero_points), axis};
           }),
           py::arg("bits"), py::arg("scales"), py::arg("zero_points"), py::arg("axis") = -1)
      .def_readwrite("bits", &QuantizationParameters::bits)
      .def_readwrite("scales", &QuantizationParameters::scales)
      .def_readwrite("zero_points", &QuantizationParameters::zero_points)
      .def_readwrite("axis", &QuantizationParameters::axis);

  py::enum_<Layout>(m, "Layout")
      .value("NCHW", Layout::NCHW)
      .value("NHWC", Layout::NHWC)
      .value("OIHW", Layout::OIHW)
      .value("OHWI", Layout::OHWI)
      .value("HWCN", Layout::HWCN);
  py::enum_<PaddingMode>(m, "PaddingMode")
      .value("EXPLICIT", PaddingMode::EXPLICIT)
      .value("SAME", PaddingMode::SAME)
      .value("SAME_UPPER", PaddingMode::SAME_UPPER)
      .value("SAME_LOWER", PaddingMode::SAME_LOWER)
      .value("VALID", PaddingMode::VALID);
  py::enum_<ActivationType>(m, "ActivationType")
      .value("RELU", ActivationType::RELU)
      .value("RELU6", ActivationType::RELU6)
      .value("CLIP", ActivationType::CLIP)
      .value("LEAKY_RELU", ActivationType::LEAKY_RELU)
      .value("SIGMOID", ActivationType::SIGMOID)
      .value("TANH", ActivationType::TANH)
      .value("HARD_SIGMOID", ActivationType::HARD_SIGMOID)
      .value("HARD_SWISH", ActivationType::HARD_SWISH)
      .value("SILU", ActivationType::SILU)
      .value("GELU_ERF", ActivationType::GELU_ERF)
      .value("GELU_TANH", ActivationType::GELU_TANH);
  py::enum_<ElementwiseOp>(m, "ElementwiseOp")
      .value("ADD", ElementwiseOp::ADD)
      .value("SUB", ElementwiseOp::SUB)
      .value("MUL", ElementwiseOp::MUL)
      .value("DIV", ElementwiseOp::DIV)
      .value("POW", ElementwiseOp::POW)
      .value("MAX", ElementwiseOp::MAX)
      .value("MIN", ElementwiseOp::MIN);
  py::enum_<UnaryOp>(m, "UnaryOp")
      .value("SQRT", UnaryOp::SQRT)
      .value("EXP", UnaryOp::EXP)
      .value("LOG", UnaryOp::LOG)
      .value("ABS", UnaryOp::ABS)
      .value("NEG", UnaryOp::NEG)
      .value("ERF", UnaryOp::ERF)
      .value("RECIPROCAL", UnaryOp::RECIPROCAL);
  py::enum_<ReduceOp>(m, "ReduceOp")
      .value("MEAN", ReduceOp::MEAN)
      .value("SUM", ReduceOp::SUM)
      .value("MAX", ReduceOp::MAX)
      .value("MIN", ReduceOp::MIN);
  py::enum_<PadMode>(m, "PadMode")
      .value("CONSTANT", PadMode::CONSTANT)
      .value("REFLECT", PadMode::REFLECT)
      .value("EDGE", PadMode::EDGE);
  py::enum_<ResizeMode>(m, "ResizeMode").value("NEAREST", ResizeMode::NEAREST).value("LINEAR", ResizeMode::LINEAR);
  py::enum_<QuantizationAlgorithm>(m, "QuantizationAlgorithm")
      .value("LINEAR", QuantizationAlgorithm::LINEAR)
      .value("EQNM", QuantizationAlgorithm::EQNM)
      .value("ENTROPY", QuantizationAlgorithm::ENTROPY)
      .value("PERCENTILE", QuantizationAlgorithm::PERCENTILE)
      .value("AUTO", QuantizationAlgorithm::AUTO);
  py::enum_<ModelKind>(m, "ModelKind").value("ONNX", ModelKind::kOnnx);
}

}  // namespace mixq::python
