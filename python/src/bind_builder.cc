// From a network to a model: the ONNX parser, the builder configuration (JSON)
// and the builder. The long calls run without the GIL.
#include <pybind11/stl.h>

#include "bindings.h"
#include "mixq/builder.h"
#include "mixq/parser.h"
#include "mixq/runtime.h"

namespace mixq::python {

void BindParser(py::module_& m) {
  py::class_<IParser>(m, "IParser", "Fills an empty INetwork from a model file (ONNX).")
      .def(py::init([](ModelKind kind) { return CreateIParser(kind); }),
           py::arg_v("kind", ModelKind::kOnnx, "ModelKind.ONNX"))
      .def("set_input_shape", Checked(&IParser::SetInputShape), py::arg("input_name"), py::arg("dims"),
           "Overrides a graph input's dims before parsing (for example a batch of 1).")
      .def(
          "parse",
          [](IParser& parser, INetwork& network, const std::string& path) {
            Status status;
            {
              py::gil_scoped_release release;
              status = parser.Parse(&network, path);
            }
            ThrowIfError(status);
          },
          py::arg("network"), py::arg("path"), "External data files are looked up beside the model file.")
      .def(
          "parse_from_memory",
          [](IParser& parser, INetwork& network, const py::bytes& data, const std::string& base_dir) {
            std::string_view bytes = data;  // `data` stays referenced by the caller while this runs
            Status status;
            {
              py::gil_scoped_release release;
              status = parser.ParseFromMemory(&network, bytes.data(), bytes.size(), base_dir);
            }
            ThrowIfError(status);
          },
          py::arg("network"), py::arg("data"), py::arg("base_dir") = "",
          "`base_dir` is where external data files are looked up ('' = none allowed).");
  m.def("create_i_parser", &CreateIParser, py::arg_v("kind", ModelKind::kOnnx, "ModelKind.ONNX"));
}

void BindBuilder(py::module_& m) {
  py::class_<IBuilderConfig>(m, "IBuilderConfig",
                             "Build options from JSON, e.g. "
                             "'{\"precision_config\": {\"precision_mode\": \"qint8_mixed_float16\"}}'.")
      .def(py::init(&CreateIBuilderConfig))
      .def("parse_from_string", Checked(&IBuilderConfig::ParseFromString), py::arg("json"),
           "Merges the keys of `json` into the configuration; unknown keys raise MixqError naming the key.")
      .def("parse_from_file", Checked(&IBuilderConfig::ParseFromFile), py::arg("path"))
      .def("to_json", &IBuilderConfig::ToJson, "The whole configuration, every key with its value, as JSON.");
  m.def("create_i_builder_config", &CreateIBuilderConfig);

  py::class_<IBuilder>(m, "IBuilder")
      .def(py::init(&CreateIBuilder))
      .def(
          "build_model",
          [](IBuilder& builder, const std::string& name, INetwork& network, IBuilderConfig* config) {
            std::unique_ptr<IModel> model;
            {
              py::gil_scoped_release release;
              model = builder.BuildModel(name, &network, config);
            }
            if (!model) RaiseStatus(builder.GetLastStatus());
            return model;
          },
          py::arg("name"), py::arg("network"), py::arg("config") = nullptr,
          "Builds a deployable model; config None means all defaults. Raises MixqError naming the node, tensor "
          "or key at fault.")
      .def("get_last_status", &IBuilder::GetLastStatus)
      .def("get_warnings", &IBuilder::GetWarnings,
           "Warnings of the last successful build_model, one sentence each (e.g. a range that clips more than\n"
           "precision_config.clip_warning_percent of a tensor's calibration values).");
  m.def("create_i_builder", &CreateIBuilder);
}

}  // namespace mixq::python
