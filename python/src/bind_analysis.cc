// The results of mixq.analyze_accuracy (include/mixq/analysis.h): read-only
// records, plus the JSON and the tables.
#include <pybind11/stl.h>

#include "bindings.h"
#include "mixq/analysis.h"
#include "mixq/tune.h"

namespace mixq::python {

void BindAnalysis(py::module_& m) {
  py::class_<TensorError>(m, "TensorError",
                          "Error of one tensor against float32 over all samples: sqnr_db (inf when exact), cosine,\n"
                          "max_abs, relative_l2; elements counted, nonfinite left out.")
      .def_readonly("tensor", &TensorError::tensor)
      .def_readonly("node", &TensorError::node)
      .def_readonly("op_type", &TensorError::op_type)
      .def_readonly("sqnr_db", &TensorError::sqnr_db)
      .def_readonly("cosine", &TensorError::cosine)
      .def_readonly("max_abs", &TensorError::max_abs)
      .def_readonly("relative_l2", &TensorError::relative_l2)
      .def_readonly("elements", &TensorError::elements)
      .def_readonly("nonfinite", &TensorError::nonfinite)
      .def("__repr__", [](const TensorError& e) {
        return "TensorError(" + e.tensor + ", sqnr_db=" + std::to_string(e.sqnr_db) +
               ", cosine=" + std::to_string(e.cosine) + ")";
      });
  py::class_<OperatorImpact>(m, "OperatorImpact",
                             "One analysed operator: its isolated error (only it quantized) and the error that\n"
                             "causes at the network outputs; rank 1 is the most harmful.")
      .def_readonly("node", &OperatorImpact::node)
      .def_readonly("op_type", &OperatorImpact::op_type)
      .def_readonly("precision", &OperatorImpact::precision)
      .def_readonly("isolated", &OperatorImpact::isolated)
      .def_readonly("network_output", &OperatorImpact::network_output)
      .def_readonly("worst_output_cosine", &OperatorImpact::worst_output_cosine)
      .def_readonly("rank", &OperatorImpact::rank);
  py::class_<AccuracyAnalysis>(m, "AccuracyAnalysis",
                               "The result of analyze_accuracy: accumulated errors of every tensor, the outputs',\n"
                               "and the operators ranked by isolated harm.")
      .def_readonly("samples", &AccuracyAnalysis::samples)
      .def_readonly("precision_mode", &AccuracyAnalysis::precision_mode)
      .def_readonly("accumulated", &AccuracyAnalysis::accumulated)
      .def_readonly("outputs", &AccuracyAnalysis::outputs)
      .def_readonly("ranking", &AccuracyAnalysis::ranking)
      .def("to_json", &AccuracyAnalysis::ToJson, "The analysis as JSON (an infinite SQNR is null).")
      .def("to_string", &AccuracyAnalysis::ToString, "The ranking and the accumulated errors as tables.")
      .def("__str__", &AccuracyAnalysis::ToString);
  py::class_<TuneCandidate>(m, "TuneCandidate",
                            "One plan tune_precision tried: the promoted nodes, the output SQNR, the lowest output\n"
                            "cosine, the median latency and whether it met the target.")
      .def_readonly("node_precision", &TuneCandidate::node_precision)
      .def_readonly("output_sqnr_db", &TuneCandidate::output_sqnr_db)
      .def_readonly("output_cosine", &TuneCandidate::output_cosine)
      .def_readonly("latency_ms", &TuneCandidate::latency_ms)
      .def_readonly("metric", &TuneCandidate::metric)
      .def_readonly("meets_target", &TuneCandidate::meets_target);
  py::class_<TuneComparison>(m, "TuneComparison",
                             "prefer_faster's check of one variant: it and the best plan so far (their\n"
                             "node_precision), timed in turn on the first sample, and whether it was kept: a\n"
                             "variant that drops a promotion (dropped) when variant_ms <= best_ms, one that moves\n"
                             "a promoted operator to another precision when variant_ms < 0.95 * best_ms.")
      .def_readonly("best", &TuneComparison::best)
      .def_readonly("variant", &TuneComparison::variant)
      .def_readonly("best_ms", &TuneComparison::best_ms)
      .def_readonly("variant_ms", &TuneComparison::variant_ms)
      .def_readonly("dropped", &TuneComparison::dropped)
      .def_readonly("kept", &TuneComparison::kept);
  py::class_<TuneResult>(m, "TuneResult",
                         "The result of tune_precision: the chosen candidate, every candidate tried, the builder\n"
                         "config JSON of the chosen one and why the search stopped.")
      .def_readonly("target_met", &TuneResult::target_met)
      .def_readonly("chosen", &TuneResult::chosen)
      .def_readonly("trajectory", &TuneResult::trajectory)
      .def_readonly("comparisons", &TuneResult::comparisons)
      .def_readonly("start_ms", &TuneResult::start_ms)
      .def_readonly("config_json", &TuneResult::config_json)
      .def_readonly("stop_reason", &TuneResult::stop_reason);
}

}  // namespace mixq::python
