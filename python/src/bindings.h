// Shared helpers of the pybind11 bindings: Status -> Python exception, numpy
// dtype <-> DataType, and the Bind* entry points (one file each).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "mixq/types.h"

namespace mixq::python {

namespace py = pybind11;

// Raises mixq.MixqError (attributes: code, message, status) when `status` is
// not OK. Call with the GIL held, i.e. after any gil_scoped_release scope ended.
void ThrowIfError(const Status& status);
// Raises mixq.MixqError for a status that is known not to be OK.
[[noreturn]] void RaiseStatus(const Status& status);

// The numpy dtype that carries a DataType's run-time data. FLOAT16 -> float16,
// BFLOAT16 -> uint16 (numpy has no bfloat16; the bits are passed as they are),
// QINT8 / QINT16 -> int8 / int16.
py::dtype DtypeFor(DataType type);
// "float32", "int8", ...: a dtype as numpy prints it, for error messages.
std::string DtypeName(const py::dtype& dtype);

// Wraps a member function returning Status into one that raises on failure and returns None.
template <typename Class, typename... Args>
auto Checked(Status (Class::*method)(Args...)) {
  return [method](Class& self, Args... args) { ThrowIfError((self.*method)(std::forward<Args>(args)...)); };
}
template <typename Class, typename... Args>
auto Checked(Status (Class::*method)(Args...) const) {
  return [method](const Class& self, Args... args) { ThrowIfError((self.*method)(std::forward<Args>(args)...)); };
}

void BindTypes(py::module_& module);
void BindNetwork(py::module_& module);
void BindParser(py::module_& module);
void BindBuilder(py::module_& module);
void BindCalibrator(py::module_& module);
void BindRuntime(py::module_& module);
void BindAnalysis(py::module_& module);

}  // namespace mixq::python
