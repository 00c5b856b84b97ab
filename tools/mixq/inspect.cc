// mixq inspect: what a model file holds, without running it.
#include <cstdio>

#include "cli.h"
#include "tensors.h"

namespace mixq::cli {

namespace {

void PrintTensors(const char* title, const std::vector<std::string>& names, const std::vector<Dims>& dims,
                  const std::vector<DataType>& types) {
  std::printf("%s:\n", title);
  for (size_t i = 0; i < names.size(); ++i)
    std::printf("  %-24s %-10s %s\n", names[i].c_str(), i < types.size() ? DataTypeName(types[i]) : "?",
                i < dims.size() ? dims[i].ToString().c_str() : "?");
}

}  // namespace

int InspectMain(const std::vector<std::string>& args) {
  Args parser("inspect", "MODEL.mixq [--json]",
              "Prints the model's inputs and outputs (name, run-time type, dims; -1 = set at run time),\n"
              "the bytes of weights it holds and the precision report: per node, the precision each\n"
              "input is consumed in and each output produced in, the kernel and why it differs.");
  parser.AddPositional("MODEL.mixq", "a model file written by mixq build");
  parser.AddSwitch("json", "print the precision report as JSON instead of the text above");
  if (int code = ParseOrExit(&parser, "inspect", args); code >= 0) return code;

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(0), &model); !s.ok()) return Fail("inspect", s);
  if (parser.Has("json")) {
    std::printf("%s\n", model->GetPrecisionReportJson().c_str());
    return 0;
  }
  std::printf("model: %s\n", model->GetName().c_str());
  PrintTensors("inputs", model->GetInputNames(), model->GetInputDimensions(), model->GetInputDataTypes());
  PrintTensors("outputs", model->GetOutputNames(), model->GetOutputDimensions(), model->GetOutputDataTypes());
  std::printf("weight bytes: %lld\n\n", static_cast<long long>(model->GetWeightBytes()));
  std::fputs(model->GetPrecisionReport().c_str(), stdout);
  return 0;
}

}  // namespace mixq::cli
