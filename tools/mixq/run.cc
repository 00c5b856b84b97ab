// mixq run: one inference on inputs from .npy files, outputs to .npy files.
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "input_checks.h"
#include "tensors.h"
#include "util/status_util.h"

namespace mixq::cli {

int RunMain(const std::vector<std::string>& args) {
  Args parser("run", "MODEL.mixq --input NAME=FILE.npy [--input ...] --output-dir DIR",
              "Runs the model once and writes each output to DIR/<output name>.npy (characters other\n"
              "than letters, digits, '.', '_' and '-' in the name become '_'). Inputs are taken in\n"
              "their .npy dtype and converted to the model's input type (integer data into float\n"
              "inputs is accepted, float data into integer inputs is not).");
  parser.AddPositional("MODEL.mixq", "a model file written by mixq build");
  parser.AddFlag("input", "i", "NAME=FILE.npy", "data for input NAME (just FILE.npy for a one-input model)", true);
  parser.AddFlag("output-dir", "o", "DIR", "folder for the outputs (created if missing)");
  parser.AddSwitch("reference", "run every operator on its reference kernel");
  parser.AddFlag("threads", "t", "N", "threads the inference may use (default: OMP_NUM_THREADS or all cores)");
  if (int code = ParseOrExit(&parser, "run", args); code >= 0) return code;
  int64_t threads = 0;
  if (parser.Has("threads"))
    if (Status s = ParseInt(parser.Get("threads"), "--threads", 1, 1024, &threads); !s.ok())
      return Fail("run", s, kExitUsage);
  if (!parser.Has("output-dir")) return Fail("run", InvalidArgument("--output-dir DIR is required"), kExitUsage);
  if (!parser.Has("input")) return Fail("run", InvalidArgument("--input NAME=FILE.npy is required"), kExitUsage);

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(0), &model); !s.ok()) return Fail("run", s);
  std::vector<HostTensor> inputs;
  if (Status s = LoadInputs(parser.GetAll("input"), model->GetInputNames(), model->GetInputDataTypes(), &inputs);
      !s.ok())
    return Fail("run", s, kExitUsage);
  WarnNonFiniteInputs("run", *model, inputs);
  auto engine = model->CreateIEngine();
  if (!engine) return Fail("run", model->GetLastStatus());
  ContextOptions options;
  options.force_reference = parser.Has("reference");
  options.num_threads = static_cast<int>(threads);
  auto context = engine->CreateIContext(options);
  std::vector<std::unique_ptr<IRTTensor>> in_tensors, out_tensors;
  if (Status s = RunOnce(context.get(), &inputs, &in_tensors, &out_tensors); !s.ok()) return Fail("run", s);

  const std::filesystem::path dir = parser.Get("output-dir");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("run", InvalidArgument("cannot create --output-dir '", dir.string(), "': ", ec.message()));
  for (const auto& out : out_tensors) {
    const std::string path = (dir / (FileNameFor(out->GetName()) + ".npy")).string();
    if (Status s = WriteTensorNpy(path, *out); !s.ok()) return Fail("run", s);
    std::printf("%s  %s %s -> %s\n", out->GetName().c_str(), DataTypeName(out->GetDataType()),
                out->GetDimensions().ToString().c_str(), path.c_str());
  }
  return 0;
}

}  // namespace mixq::cli
