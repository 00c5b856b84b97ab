// mixq._mixq: the C++ API for Python. The pure-Python package (python/mixq/)
// re-exports it and adds the conveniences (quantize, Session, iterables).
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "mixq/version.h"

PYBIND11_MODULE(_mixq, module) {
  module.doc() = "mixq's C++ API (mixed-precision inference), names in snake_case.";
  module.attr("__version__") = MIXQ_VERSION_STRING;
  mixq::python::BindTypes(module);
  mixq::python::BindNetwork(module);
  mixq::python::BindParser(module);
  // Classes before the functions that return them (signatures name them).
  mixq::python::BindRuntime(module);
  mixq::python::BindBuilder(module);
  mixq::python::BindAnalysis(module);  // its result types, before analyze_accuracy (BindCalibrator)
  mixq::python::BindCalibrator(module);
}
