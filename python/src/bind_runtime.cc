// Deploying and running: model files, engine, context options and contexts
// that take numpy arrays and return numpy arrays.
#include <pybind11/stl.h>

#include "bindings.h"
#include "mixq/onnx_export.h"
#include "mixq/runtime.h"

namespace mixq::python {
namespace {

// Wraps an output tensor's own buffer as a numpy array without copying: the
// array owns the tensor (through a capsule) and frees it when it goes away.
py::array OutputArray(std::unique_ptr<IRTTensor> tensor) {
  const py::dtype dtype = DtypeFor(tensor->GetDataType());
  const std::vector<int64_t> dims = tensor->GetDimensions().GetDims();
  std::vector<py::ssize_t> shape(dims.begin(), dims.end());
  void* data = tensor->GetMutableData();
  py::capsule owner(tensor.release(), [](void* p) { delete static_cast<IRTTensor*>(p); });
  return py::array(dtype, shape, {}, data, owner);
}

std::vector<py::array> Enqueue(IContext& context, const std::vector<py::array>& arrays) {
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  ThrowIfError(context.CreateInputTensors(&inputs));
  ThrowIfError(context.CreateOutputTensors(&outputs));
  if (arrays.size() != inputs.size())
    RaiseStatus(Status(StatusCode::INVALID_ARGUMENT, "enqueue: the model has " + std::to_string(inputs.size()) +
                                                         " inputs but " + std::to_string(arrays.size()) +
                                                         " arrays were given (one per input, in input order)"));
  // C-ordered views of the inputs, copies only where an array is not C-ordered;
  // they live until Enqueue returned.
  std::vector<py::array> contiguous;
  for (size_t k = 0; k < inputs.size(); ++k) {
    IRTTensor& tensor = *inputs[k];
    const py::dtype want = DtypeFor(tensor.GetDataType());
    if (!arrays[k].dtype().equal(want))
      RaiseStatus(Status(StatusCode::INVALID_ARGUMENT,
                         "enqueue: input " + std::to_string(k) + " ('" + tensor.GetName() + "') is a " +
                             DtypeName(arrays[k].dtype()) + " array; the model takes " + DtypeName(want)));
    contiguous.push_back(py::array::ensure(arrays[k], py::array::c_style));
    const py::array& array = contiguous.back();
    std::vector<int64_t> dims(array.shape(), array.shape() + array.ndim());
    ThrowIfError(tensor.SetDimensions(Dims(dims)));
    ThrowIfError(tensor.SetData(const_cast<void*>(array.data()), static_cast<size_t>(array.nbytes())));
  }
  Status status;
  {
    py::gil_scoped_release release;
    status = context.Enqueue(inputs, outputs);
  }
  ThrowIfError(status);
  std::vector<py::array> results;
  for (auto& output : outputs) results.push_back(OutputArray(std::move(output)));
  return results;
}

py::object PrecisionReportRows(const IModel& model) {
  const std::string json = model.GetPrecisionReportJson();
  if (json.empty()) return py::list();
  return py::module_::import("json").attr("loads")(json)["nodes"];
}

}  // namespace

void BindRuntime(py::module_& m) {
  // One def_readwrite per field of ContextOptions: a new field is one line here.
  py::class_<ContextOptions>(m, "ContextOptions", "Options for a context, e.g. ContextOptions(force_reference=True).")
      .def(py::init([](const py::kwargs& fields) {
             ContextOptions options;
             py::object self = py::cast(options);
             for (auto [name, value] : fields) {
               if (!py::hasattr(self, name))
                 throw py::type_error("ContextOptions has no field '" + py::str(name).cast<std::string>() + "'");
               self.attr(name) = value;
             }
             return self.cast<ContextOptions>();
           }),
           "Fields given by keyword; the others keep their C++ defaults.")
      .def_readwrite("force_reference", &ContextOptions::force_reference,
                     "Run every operator on its reference kernel (the oracle), with no fusion.")
      .def_readwrite("num_threads", &ContextOptions::num_threads,
                     "Threads one inference may use (0: OMP_NUM_THREADS, else every core; 1 to 1024).")
      .def_readwrite("max_isa", &ContextOptions::max_isa,
                     "Caps the instruction set of mixq's own kernels: '' (the CPU's), 'generic', 'avx2', 'avx512', "
                     "'avx512_vnni', 'amx'.")
      .def_readwrite("max_activation_bytes", &ContextOptions::max_activation_bytes,
                     "Most bytes of activation memory one set of input shapes may plan (<= 0: no limit).")
      .def_readwrite("profile", &ContextOptions::profile,
                     "Time every step of every run for get_profile (one clock read per step).")
      .def("__repr__", [](const py::object& self) {
        // Every property (= every bound field), so the repr needs no edit when a field is added.
        const py::object property = py::module_::import("builtins").attr("property");
        const py::object type = py::type::of(self);
        std::string text = "ContextOptions(";
        for (py::handle name : py::module_::import("builtins").attr("dir")(type)) {
          if (!py::isinstance(type.attr(name), property)) continue;
          if (text.back() != '(') text += ", ";
          text += py::str(name).cast<std::string>() + "=" + py::repr(self.attr(name)).cast<std::string>();
        }
        return text + ")";
      });

  py::class_<IContext>(m, "IContext", "Per-thread execution state; one thread at a time.")
      .def("enqueue", &Enqueue, py::arg("inputs"),
           "Runs the model on one numpy array per input (in input order); returns one array per output.\n"
           "Inputs are read in place when C-ordered; outputs are the engine's buffers, not copies.\n"
           "The GIL is released while the model runs.")
      .def(
          "infer_output_shape",
          [](IContext& context, const std::vector<Dims>& input_dims) {
            std::vector<Dims> output_dims;
            ThrowIfError(context.InferOutputShape(input_dims, &output_dims));
            return output_dims;
          },
          py::arg("input_dims"))
      .def("get_activation_bytes", &IContext::GetActivationBytes)
      .def(
          "prepare",
          [](IContext& context, const std::vector<Dims>& input_dims) {
            Status status;
            {
              py::gil_scoped_release release;
              status = context.Prepare(input_dims);
            }
            ThrowIfError(status);
          },
          py::arg("input_dims"), "Lowers the model to an execution plan for these input dims without running it.")
      .def("get_precision_report", &IContext::GetPrecisionReport,
           "The precision report read from the plan prepared last (kernels as they run, storage of each output).")
      .def("get_precision_report_json", &IContext::GetPrecisionReportJson)
      .def(
          "get_precision_report_rows",
          [](const IContext& context) -> py::object {
            const std::string json = context.GetPrecisionReportJson();
            if (json.empty()) return py::list();
            return py::module_::import("json").attr("loads")(json)["nodes"];
          },
          "The plan's precision report as a list of dicts, one per node (kernel, fused_into, storage per output).")
      .def(
          "get_execution_plan",
          [](const IContext& context, bool as_json) -> py::object {
            const std::string text = context.GetExecutionPlan(as_json);
            if (!as_json || text.empty()) return py::str(text);
            return py::module_::import("json").attr("loads")(text);
          },
          py::arg("as_json") = false,
          "The execution plan prepared last: steps, kernels, storage types, fused nodes, buffer and weight bytes "
          "(a table, or a dict with as_json=True).")
      .def(
          "get_profile",
          [](const IContext& context, bool as_json) -> py::object {
            const std::string text = context.GetProfile(as_json);
            if (!as_json || text.empty()) return py::str(text);
            return py::module_::import("json").attr("loads")(text);
          },
          py::arg("as_json") = false,
          "With ContextOptions.profile: mean time per step of the plan (node, op, kernel, storage) and per "
          "operator type over the runs since the last prepare (the first left out once there are others), heaviest "
          "first (a table, or a dict with "
          "as_json=True).");

  py::class_<IEngine>(m, "IEngine", "The executable form of a model; shareable across threads.")
      .def(
          "create_i_context",
          [](const IEngine& engine, const ContextOptions& options) { return engine.CreateIContext(options); },
          py::arg("options") = ContextOptions{}, py::keep_alive<0, 1>())
      .def("get_input_names", &IEngine::GetInputNames)
      .def("get_output_names", &IEngine::GetOutputNames)
      .def("get_input_dimensions", &IEngine::GetInputDimensions)
      .def("get_input_data_types", &IEngine::GetInputDataTypes)
      .def("get_output_data_types", &IEngine::GetOutputDataTypes)
      .def("get_prepared_weight_bytes", &IEngine::GetPreparedWeightBytes,
           "Bytes of weights packed for the kernels, held once by the engine and shared by its contexts.");

  py::class_<IModel>(m, "IModel", "A built model: precisions, quantization parameters and weights.")
      .def(py::init(&CreateIModel), "An empty model, to deserialize into.")
      .def("get_name", &IModel::GetName)
      .def(
          "serialize_to_file",
          [](const IModel& model, const std::string& path) {
            Status status;
            {
              py::gil_scoped_release release;
              status = model.SerializeToFile(path);
            }
            ThrowIfError(status);
          },
          py::arg("path"))
      .def("serialize_to_memory",
           [](const IModel& model) {
             std::vector<uint8_t> bytes;
             ThrowIfError(model.SerializeToMemory(&bytes));
             return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
           })
      .def(
          "deserialize_from_file",
          [](IModel& model, const std::string& path) {
            Status status;
            {
              py::gil_scoped_release release;
              status = model.DeserializeFromFile(path);
            }
            ThrowIfError(status);
          },
          py::arg("path"), "The file is verified (magic, version, checksum, structure) first.")
      .def(
          "deserialize_from_memory",
          [](IModel& model, const py::bytes& data) {
            std::string_view bytes = data;
            ThrowIfError(model.DeserializeFromMemory(bytes.data(), bytes.size()));
          },
          py::arg("data"))
      .def("get_input_num", &IModel::GetInputNum)
      .def("get_output_num", &IModel::GetOutputNum)
      .def("get_input_names", &IModel::GetInputNames)
      .def("get_output_names", &IModel::GetOutputNames)
      .def("get_input_dimensions", &IModel::GetInputDimensions)
      .def("get_output_dimensions", &IModel::GetOutputDimensions)
      .def("get_input_data_types", &IModel::GetInputDataTypes)
      .def("get_output_data_types", &IModel::GetOutputDataTypes)
      .def("get_weight_bytes", &IModel::GetWeightBytes)
      .def("get_precision_report", &IModel::GetPrecisionReport, "The precision report as a table for people.")
      .def("get_precision_report_json", &IModel::GetPrecisionReportJson)
      .def("get_precision_report_rows", &PrecisionReportRows,
           "The precision report as a list of dicts, one per node: node, op, kernel, inputs and outputs\n"
           "(tensor, requested and actual precision, who requested it), fused, and why they differ.")
      .def(
          "create_i_engine",
          [](const IModel& model) {
            std::unique_ptr<IEngine> engine;
            {
              py::gil_scoped_release release;
              engine = model.CreateIEngine();
            }
            if (!engine) RaiseStatus(model.GetLastStatus());
            return engine;
          },
          py::keep_alive<0, 1>())
      .def("get_last_status", &IModel::GetLastStatus)
      .def(
          "export_to_onnx",
          [](const IModel& model, const std::string& path) { ThrowIfError(ExportToOnnx(model, path)); },
          py::arg("path"), "Writes the model as ONNX with QDQ nodes carrying its scales and zero points.");
  m.def("create_i_model", &CreateIModel);
}

}  // namespace mixq::python
