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

// The execution plan of a context prepared for `shapes`, and its report.
int PrintPlan(const IModel& model, const std::vector<std::string>& shapes, bool reference, bool json) {
  std::vector<Dims> dims;
  if (Status s = ResolveInputDims(shapes, model.GetInputNames(), model.GetInputDimensions(), &dims); !s.ok())
    return Fail("inspect", s, kExitUsage);
  auto engine = model.CreateIEngine();
  if (!engine) return Fail("inspect", model.GetLastStatus());
  ContextOptions options;
  options.force_reference = reference;
  auto context = engine->CreateIContext(options);
  if (Status s = context->Prepare(dims); !s.ok()) return Fail("inspect", s);
  if (json) {
    std::printf("{\"plan\": %s, \"precision_report\": %s}\n", context->GetExecutionPlan(true).c_str(),
                context->GetPrecisionReportJson().c_str());
    return 0;
  }
  std::fputs(context->GetExecutionPlan(false).c_str(), stdout);
  std::printf("\n");
  std::fputs(context->GetPrecisionReport().c_str(), stdout);
  return 0;
}

}  // namespace

int InspectMain(const std::vector<std::string>& args) {
  Args parser("inspect", "MODEL.mixq [--json] [--plan [--shape NAME:DIMS ...] [--reference]]",
              "Prints the model's inputs and outputs (name, run-time type, dims; -1 = set at run time),\n"
              "the bytes of weights it holds and the build-time precision report: per node, the\n"
              "precision each input is consumed in and each output produced in, and why it differs.\n"
              "With --plan: the execution plan for the given input shapes instead (steps, kernels,\n"
              "storage types, fused nodes, buffer and packed-weight bytes) and the precision report\n"
              "read from it (the kernel that runs each node, the storage of each output).");
  parser.AddPositional("MODEL.mixq", "a model file written by mixq build");
  parser.AddSwitch("json", "print the report (and with --plan, the plan) as JSON instead of text");
  parser.AddSwitch("plan", "lower the model for concrete input shapes and print the execution plan");
  parser.AddFlag("shape", "s", "NAME:DIMS", "with --plan: dims for an input with dynamic dims, e.g. x:1x3x224x224",
                 true);
  parser.AddSwitch("reference", "with --plan: the plan of a force_reference context");
  if (int code = ParseOrExit(&parser, "inspect", args); code >= 0) return code;

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(0), &model); !s.ok()) return Fail("inspect", s);
  if (parser.Has("plan")) return PrintPlan(*model, parser.GetAll("shape"), parser.Has("reference"), parser.Has("json"));
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
