// Calibration from Python: CalibDataInterface subclassable in Python (the
// seed's class), and the calibrator over a list of them.
//
// C++ calls a data interface while it runs without the GIL; every call back
// into Python takes the GIL again. A Python exception must not unwind through
// the C++ library (its API reports errors as Status), so it is caught at the
// boundary, kept, turned into a failed Status that stops the calibration, and
// raised again, traceback intact, once the calibrator has returned.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings.h"
#include "mixq/analysis.h"
#include "mixq/calibrator.h"
#include "mixq/tune.h"

namespace mixq::python {
namespace {

// The trampoline of CalibDataInterface. Next() asks Python for the whole
// sample at once (next, then get_shape, get_data_type, get_sample) and checks
// the array against what get_shape and get_data_type said, so that a bad sample
// is reported by Next() (whose errors the calibrator tags with the input's
// name) and GetShape / GetDataType / GetSample only return what is cached.
class PyCalibDataInterface : public CalibDataInterface {
 public:
  Dims GetShape() override { return shape_; }
  DataType GetDataType() override { return type_; }
  // Cached by Next(): called without the GIL, so it must not touch the array object.
  void* GetSample() override { return sample_data_; }

  Status Next() override {
    py::gil_scoped_acquire gil;
    Release();
    Status status = CallStatusMethod("next");
    if (!status.ok()) return status;
    return FetchSample();
  }

  Status Reset() override {
    py::gil_scoped_acquire gil;
    Release();
    return CallStatusMethod("reset");
  }

  int64_t GetSampleCount() override {
    py::gil_scoped_acquire gil;
    py::function method = py::get_override(static_cast<const CalibDataInterface*>(this), "get_sample_count");
    if (!method) return -1;
    try {
      return method().cast<int64_t>();
    } catch (py::error_already_set& error) {
      Keep(error);
    } catch (const py::cast_error&) {
    }
    return -1;
  }

  // The Python exception a callback raised during the last calibration, if any.
  std::optional<py::error_already_set> TakeError() {
    std::optional<py::error_already_set> error;
    error.swap(error_);
    return error;
  }
  void Release() {
    sample_.reset();
    sample_data_ = nullptr;
  }

 private:
  void Keep(py::error_already_set& error) {
    if (!error_) error_ = std::move(error);
  }

  // Calls a method returning Status; a Python exception or a wrong return type becomes a failed Status.
  Status CallStatusMethod(const char* name) {
    py::function method = py::get_override(static_cast<const CalibDataInterface*>(this), name);
    if (!method) return Status(StatusCode::UNIMPLEMENTED, std::string(name) + "() is not implemented");
    try {
      py::object result = method();
      if (!py::isinstance<Status>(result))
        return Status(StatusCode::INVALID_ARGUMENT,
                      std::string(name) + "() returned " +
                          py::str(py::type::of(result).attr("__name__")).cast<std::string>() + ", not a mixq.Status");
      return result.cast<Status>();
    } catch (py::error_already_set& error) {
      std::string what = error.what();
      Keep(error);
      return Status(StatusCode::INTERNAL, std::string("Python exception in ") + name + "(): " + what);
    }
  }

  Status FetchSample() {
    const char* step = "get_shape";
    try {
      py::function get_shape = py::get_override(static_cast<const CalibDataInterface*>(this), "get_shape");
      py::function get_type = py::get_override(static_cast<const CalibDataInterface*>(this), "get_data_type");
      py::function get_sample = py::get_override(static_cast<const CalibDataInterface*>(this), "get_sample");
      if (!get_shape || !get_type || !get_sample)
        return Status(StatusCode::UNIMPLEMENTED, "get_shape, get_data_type and get_sample must all be implemented");
      shape_ = get_shape().cast<Dims>();
      step = "get_data_type";
      type_ = get_type().cast<DataType>();
      step = "get_sample";
      py::object sample = get_sample();
      if (!py::isinstance<py::array>(sample))
        return Status(StatusCode::INVALID_ARGUMENT,
                      "get_sample() returned " + py::str(py::type::of(sample).attr("__name__")).cast<std::string>() +
                          ", not a numpy array");
      auto array = sample.cast<py::array>();
      const py::dtype want = DtypeFor(type_);
      if (!array.dtype().equal(want))
        return Status(StatusCode::INVALID_ARGUMENT, "get_sample() returned a " + DtypeName(array.dtype()) +
                                                        " array but get_data_type() is " + DataTypeName(type_) +
                                                        " (numpy " + DtypeName(want) + ")");
      std::vector<int64_t> dims(array.shape(), array.shape() + array.ndim());
      if (Dims(dims) != shape_)
        return Status(StatusCode::INVALID_ARGUMENT, "get_sample() returned an array of shape " + Dims(dims).ToString() +
                                                        " but get_shape() is " + shape_.ToString());
      // No copy when the array is C-ordered already (the usual case).
      sample_ = py::array::ensure(array, py::array::c_style);
      // The calibrator only reads the sample; read-only arrays are fine.
      sample_data_ = const_cast<void*>(sample_->data());
      return Status::OK();
    } catch (py::error_already_set& error) {
      std::string what = error.what();
      Keep(error);
      return Status(StatusCode::INTERNAL, std::string("Python exception in ") + step + "(): " + what);
    } catch (const py::cast_error& error) {
      return Status(
          StatusCode::INVALID_ARGUMENT,
          std::string(step) + "() returned a value of the wrong type: " +
              (std::string(step) == "get_shape" ? "expected mixq.Dims or a list of ints" : "expected mixq.DataType"));
    }
  }

  Dims shape_;
  DataType type_ = DataType::FLOAT32;
  std::optional<py::array> sample_;
  void* sample_data_ = nullptr;
  std::optional<py::error_already_set> error_;
};

// ICalibrator for Python: owns the C++ calibrator and keeps the Python data
// objects (and the progress callback) alive as long as it may call them.
class PyCalibrator {
 public:
  explicit PyCalibrator(std::vector<py::object> data) : data_objects_(std::move(data)) {
    std::vector<CalibDataInterface*> raw;
    for (auto& object : data_objects_) {
      // Every Python-made CalibDataInterface is the trampoline (the base is abstract).
      auto* interface = dynamic_cast<PyCalibDataInterface*>(object.cast<CalibDataInterface*>());
      if (interface == nullptr) throw py::type_error("create_i_calibrator: not a Python CalibDataInterface");
      interfaces_.push_back(interface);
      raw.push_back(interface);
    }
    calibrator_ = CreateICalibrator(raw);
  }

  ICalibrator& get() { return *calibrator_; }
  std::vector<CalibDataInterface*> interfaces() const { return {interfaces_.begin(), interfaces_.end()}; }

  void SetProgressCallback(std::optional<py::function> callback) {
    progress_ = std::move(callback);
    if (!progress_) {
      calibrator_->SetProgressCallback(nullptr);
      return;
    }
    calibrator_->SetProgressCallback([this](int64_t done, int64_t total) {
      py::gil_scoped_acquire gil;
      if (progress_error_) return;  // report the first failure only
      try {
        (*progress_)(done, total);
      } catch (py::error_already_set& error) {
        progress_error_ = std::move(error);
      }
    });
  }

  // Runs `call` without the GIL, then raises the first Python exception a
  // callback raised (the cause of the failure), else the failed Status.
  template <typename Call>
  void RunReleased(Call&& call) {
    Status status;
    {
      py::gil_scoped_release release;
      status = call(*calibrator_);
    }
    std::optional<py::error_already_set> error;
    for (auto* interface : interfaces_) {
      auto taken = interface->TakeError();
      if (taken && !error) error = std::move(taken);
      interface->Release();  // the samples' arrays are not needed past the call
    }
    if (!error && progress_error_) error.swap(progress_error_);
    progress_error_.reset();
    if (error) {
      // Python 3.11+: the calibrator's own message goes along as a note.
      if (!status.ok() && py::hasattr(error->value(), "add_note"))
        error->value().attr("add_note")("mixq: " + status.ToString());
      error->restore();
      throw py::error_already_set();
    }
    ThrowIfError(status);
  }

 private:
  std::vector<py::object> data_objects_;
  std::vector<PyCalibDataInterface*> interfaces_;
  std::unique_ptr<ICalibrator> calibrator_;
  std::optional<py::function> progress_;
  std::optional<py::error_already_set> progress_error_;
};

// [sample]{output name: float32 array}, copied (the C++ vectors are the tuner's).
py::list SamplesToPython(const SampleOutputs& outputs) {
  py::list samples;
  for (const auto& sample : outputs) {
    py::dict tensors;
    for (const auto& t : sample) {
      const auto& dims = t.dims.GetDims();
      py::array_t<float> array(std::vector<py::ssize_t>(dims.begin(), dims.end()));
      std::copy(t.values.begin(), t.values.end(), array.mutable_data());
      tensors[py::str(t.name)] = array;
    }
    samples.append(tensors);
  }
  return samples;
}

std::vector<py::object> DataList(const py::object& data) {
  std::vector<py::object> list;
  if (py::isinstance<CalibDataInterface>(data)) {
    list.push_back(data);
  } else {
    for (py::handle item : data) {
      if (!py::isinstance<CalibDataInterface>(item))
        throw py::type_error("create_i_calibrator: every element must be a mixq.CalibDataInterface, got " +
                             py::str(py::type::of(item).attr("__name__")).cast<std::string>());
      list.push_back(py::reinterpret_borrow<py::object>(item));
    }
  }
  return list;
}

}  // namespace

void BindCalibrator(py::module_& m) {
  py::class_<CalibDataInterface, PyCalibDataInterface>(
      m, "CalibDataInterface",
      "Sample data for one network input; subclass it in Python and implement get_shape, get_data_type,\n"
      "next (a Status: OK, or OUT_OF_RANGE at the end), reset (a Status) and get_sample (a numpy array\n"
      "of get_shape() and get_data_type()'s dtype). get_sample_count is optional (-1: unknown).")
      .def(py::init<>());

  py::class_<PyCalibrator>(m, "ICalibrator",
                           "Runs the float network over the samples and records statistics (histograms) of "
                           "every tensor the plan will quantize.")
      .def(py::init([](const py::object& data) { return std::make_unique<PyCalibrator>(DataList(data)); }),
           py::arg("data"), "`data`: one CalibDataInterface per network input, in input order (or a single one).")
      .def(
          "set_quantization_algorithm",
          [](PyCalibrator& c, QuantizationAlgorithm algorithm, double percentile) {
            ThrowIfError(c.get().SetQuantizationAlgorithm(algorithm, percentile));
          },
          py::arg("algorithm"), py::arg("percentile") = 99.99, "`percentile` (0, 100] is used by PERCENTILE only.")
      .def(
          "set_histogram_bins", [](PyCalibrator& c, int32_t bins) { ThrowIfError(c.get().SetHistogramBins(bins)); },
          py::arg("bins"))
      .def("set_progress_callback", &PyCalibrator::SetProgressCallback, py::arg("callback").none(true),
           "callback(done, total) after every sample, then for AUTO's output-aware search (0, N) ... (N, N) in "
           "candidate builds; None removes it.")
      .def(
          "calibrate",
          [](PyCalibrator& c, INetwork& network, IBuilderConfig* config) {
            c.RunReleased([&](ICalibrator& calibrator) { return calibrator.Calibrate(&network, config); });
          },
          py::arg("network"), py::arg("config") = nullptr,
          "Runs the samples through the float network; an exception raised in a data interface's method\n"
          "propagates from here with its traceback.")
      .def(
          "save_statistics",
          [](PyCalibrator& c, INetwork& network, const std::string& path) {
            c.RunReleased([&](ICalibrator& calibrator) { return calibrator.SaveStatistics(&network, path); });
          },
          py::arg("network"), py::arg("path"))
      .def(
          "load_statistics",
          [](PyCalibrator& c, INetwork& network, const std::string& path) {
            c.RunReleased([&](ICalibrator& calibrator) { return calibrator.LoadStatistics(&network, path); });
          },
          py::arg("network"), py::arg("path"))
      .def(
          "write_range_table",
          [](PyCalibrator& c, INetwork& network, IBuilderConfig* config, const std::string& path) {
            c.RunReleased([&](ICalibrator& calibrator) { return calibrator.WriteRangeTable(&network, config, path); });
          },
          py::arg("network"), py::arg("config").none(true), py::arg("path"),
          "The ranges build_model would use with `config`, as an editable JSON table.")
      .def(
          "read_range_table",
          [](PyCalibrator& c, INetwork& network, const std::string& path) {
            c.RunReleased([&](ICalibrator& calibrator) { return calibrator.ReadRangeTable(&network, path); });
          },
          py::arg("network"), py::arg("path"));
  m.def(
      "create_i_calibrator", [](const py::object& data) { return std::make_unique<PyCalibrator>(DataList(data)); },
      py::arg("data"), "An ICalibrator over one CalibDataInterface per network input.");
  m.def(
      "analyze_accuracy",
      [](INetwork& network, const py::object& data, IBuilderConfig* config, int64_t max_samples, bool isolated,
         int num_threads, std::optional<py::function> progress, const std::string& report_dir,
         const std::string& report_title) {
        // The data interfaces, their Python exceptions and the progress
        // callback are handled as for calibration.
        PyCalibrator holder(DataList(data));
        std::optional<py::error_already_set> progress_error;
        AnalysisOptions options;
        options.max_samples = max_samples;
        options.isolated = isolated;
        options.num_threads = num_threads;
        options.report.dir = report_dir;
        options.report.title = report_title;
        if (progress)
          options.progress = [&](int64_t done, int64_t total, const std::string& what) {
            py::gil_scoped_acquire gil;
            if (progress_error) return;
            try {
              (*progress)(done, total, what);
            } catch (py::error_already_set& error) {
              progress_error = std::move(error);
            }
          };
        AccuracyAnalysis result;
        holder.RunReleased(
            [&](ICalibrator&) { return AnalyzeAccuracy(&network, config, holder.interfaces(), options, &result); });
        if (progress_error) {
          progress_error->restore();
          throw py::error_already_set();
        }
        return result;
      },
      py::arg("network"), py::arg("data"), py::arg("config") = nullptr, py::arg("max_samples") = -1,
      py::arg("isolated") = true, py::arg("num_threads") = 0, py::arg("progress") = py::none(),
      py::arg("report_dir") = "", py::arg("report_title") = "",
      "Layer-wise error of `network` built with `config` against its float32 build, on the samples of\n"
      "`data` (one CalibDataInterface per input, e.g. ArrayCalibData; mixq.analyze takes numpy arrays):\n"
      "every tensor accumulated, and every operator the plan does not run in float32 isolated (only it\n"
      "quantized), ranked by the network-output SQNR it alone causes. progress(done, total, what).\n"
      "With report_dir, also writes the HTML report report_dir/index.html (docs/accuracy.md).");
  m.def(
      "tune_precision",
      [](INetwork& network, const py::object& data, IBuilderConfig* config, double min_cosine, double min_sqnr_db,
         double time_budget_seconds, int64_t max_samples, int latency_runs, int num_threads,
         std::optional<py::function> progress, std::optional<py::function> metric, double min_metric,
         const std::string& report_dir, const std::string& report_title, bool prefer_faster,
         const std::vector<std::string>& start_modes) {
        PyCalibrator holder(DataList(data));
        std::optional<py::error_already_set> progress_error;
        TuneOptions options;
        options.prefer_faster = prefer_faster;
        options.start_modes = start_modes;
        options.min_cosine = min_cosine;
        options.min_sqnr_db = min_sqnr_db;
        options.time_budget_seconds = time_budget_seconds;
        options.max_samples = max_samples;
        options.latency_runs = latency_runs;
        options.num_threads = num_threads;
        options.report.dir = report_dir;
        options.report.title = report_title;
        if (progress)
          options.progress = [&](int64_t done, const std::string& message) {
            py::gil_scoped_acquire gil;
            if (progress_error) return;
            try {
              (*progress)(done, message);
            } catch (py::error_already_set& error) {
              progress_error = std::move(error);
            }
          };
        // The user's metric gets [sample]{output name: float32 array} for the
        // candidate and the float32 build; a Python exception stops the search
        // and is raised again from here.
        std::optional<py::error_already_set> metric_error;
        if (metric) {
          options.min_metric = min_metric;
          options.metric = [&](const SampleOutputs& candidate, const SampleOutputs& reference, double* value) {
            py::gil_scoped_acquire gil;
            try {
              *value = (*metric)(SamplesToPython(candidate), SamplesToPython(reference)).cast<double>();
              return Status::OK();
            } catch (py::error_already_set& error) {
              std::string what = error.what();
              metric_error = std::move(error);
              return Status(StatusCode::INTERNAL, "Python exception in the metric: " + what);
            } catch (const py::cast_error&) {
              return Status(StatusCode::INVALID_ARGUMENT, "the metric must return a number");
            }
          };
        }
        TuneResult result;
        try {
          holder.RunReleased(
              [&](ICalibrator&) { return TunePrecision(&network, config, holder.interfaces(), options, &result); });
        } catch (py::error_already_set&) {
          // The MixqError saying the metric failed: the metric's own exception says why.
          if (!metric_error) throw;
        }
        for (auto* error : {&metric_error, &progress_error})
          if (*error) {
            (*error)->restore();
            throw py::error_already_set();
          }
        return result;
      },
      py::arg("network"), py::arg("data"), py::arg("config") = nullptr, py::arg("min_cosine") = 0.999,
      py::arg("min_sqnr_db") = -1e300, py::arg("time_budget_seconds") = 600.0, py::arg("max_samples") = -1,
      py::arg("latency_runs") = 5, py::arg("num_threads") = 0, py::arg("progress") = py::none(),
      py::arg("metric") = py::none(), py::arg("min_metric") = 0.0, py::arg("report_dir") = "",
      py::arg("report_title") = "", py::arg("prefer_faster") = true,
      py::arg("start_modes") = std::vector<std::string>{},
      "Promotes the operators that hurt the outputs most, one precision step at a time (qint8 -> qint16 ->\n"
      "float16 -> float32), until every output's cosine >= min_cosine and the SQNR >= min_sqnr_db (and\n"
      "metric(candidate_outputs, float32_outputs) >= min_metric, each a list per sample of {name: array});\n"
      "the result's config_json holds the promotions (precision_config.node_precision). With\n"
      "prefer_faster, each promotion is then taken back where the plan still meets the target and measures\n"
      "no slower, and each remaining promoted operator's other precisions are tried, keeping one that still\n"
      "meets the target and measures at least 5 % faster. start_modes: precision modes timed here in turn;\n"
      "the search starts from the fastest (result.start_ms has their times); empty: config's mode.\n"
      "progress(done, message) after every candidate (done 0: a start mode's time). With report_dir, also\n"
      "writes the HTML report\n"
      "report_dir/index.html with the trajectory of every candidate (docs/accuracy.md).");
  m.def("quantization_algorithm_name", &QuantizationAlgorithmName, py::arg("algorithm"));
}

}  // namespace mixq::python
