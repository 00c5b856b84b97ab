// mixq compare: how far a built model's outputs are from the float32 build of
// the ONNX model it came from, on the same inputs.
#include <cmath>
#include <cstdio>

#include "cli.h"
#include "onnx_import.h"
#include "tensors.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace {

struct Metrics {
  double max_abs = 0, rel_l2 = 0, cosine = 1;
  // Elements where one side is NaN or infinite and the other is not the same
  // value: no finite error describes them, so the metrics become NaN.
  int64_t nonfinite_mismatches = 0;
};

// `want` is the float32 reference. rel_l2 = |got - want|_2 / |want|_2; cosine of
// the angle between the two as vectors (1 when both are zero).
Metrics Measure(const std::vector<float>& got, const std::vector<float>& want) {
  Metrics m;
  double diff2 = 0, want2 = 0, got2 = 0, dot = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i]) || !std::isfinite(want[i])) {
      const bool same = got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]));
      if (!same) ++m.nonfinite_mismatches;
      continue;
    }
    const double d = static_cast<double>(got[i]) - want[i];
    m.max_abs = std::max(m.max_abs, std::abs(d));
    diff2 += d * d;
    want2 += static_cast<double>(want[i]) * want[i];
    got2 += static_cast<double>(got[i]) * got[i];
    dot += static_cast<double>(got[i]) * want[i];
  }
  m.rel_l2 = want2 > 0 ? std::sqrt(diff2 / want2) : (diff2 > 0 ? INFINITY : 0.0);
  m.cosine = want2 > 0 && got2 > 0 ? dot / std::sqrt(want2 * got2) : (want2 == got2 ? 1.0 : 0.0);
  if (m.nonfinite_mismatches > 0) m.max_abs = m.rel_l2 = m.cosine = NAN;
  return m;
}

// The float32 reference: the ONNX model built with force_float32, its inputs
// fixed to the dims the compared model declares statically.
Status BuildReference(const std::string& onnx_path, const IModel& model, std::unique_ptr<IModel>* reference) {
  std::map<std::string, Dims> input_dims;
  const auto names = model.GetInputNames();
  const auto dims = model.GetInputDimensions();
  for (size_t i = 0; i < names.size() && i < dims.size(); ++i)
    if (!dims[i].HasDynamicDim()) input_dims[names[i]] = dims[i];
  auto network = CreateINetwork();
  MIXQ_RETURN_IF_ERROR(ImportOnnx(onnx_path, input_dims, network.get()));
  auto config = CreateIBuilderConfig();
  MIXQ_RETURN_IF_ERROR(config->ParseFromString(R"({"precision_config": {"precision_mode": "force_float32"}})"));
  auto builder = CreateIBuilder();
  *reference = builder->BuildModel("reference", network.get(), config.get());
  if (!*reference) return WithContext(builder->GetLastStatus(), "float32 build of " + onnx_path);
  return Status::OK();
}

Status Run(const IModel& model, const std::vector<HostTensor>& given,
           std::vector<std::unique_ptr<IRTTensor>>* outputs) {
  auto engine = model.CreateIEngine();
  if (!engine) return model.GetLastStatus();
  // Each model gets the inputs in its own run-time types.
  std::vector<HostTensor> inputs;
  const auto types = model.GetInputDataTypes();
  for (size_t i = 0; i < given.size(); ++i) {
    NpyArray array{given[i].type, given[i].dims.GetDims(), given[i].bytes};
    HostTensor t;
    t.name = given[i].name;
    MIXQ_RETURN_IF_ERROR(ConvertArray(array, types.at(i), StrCat("input '", given[i].name, "'"), &t));
    inputs.push_back(std::move(t));
  }
  auto context = engine->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> in_tensors;
  return RunOnce(context.get(), &inputs, &in_tensors, outputs);
}

}  // namespace

int CompareMain(const std::vector<std::string>& args) {
  Args parser("compare", "MODEL.onnx MODEL.mixq [--input NAME=FILE.npy ...] [--shape NAME:DIMS ...] [--seed S]",
              "Runs MODEL.mixq and the float32 build of MODEL.onnx on the same inputs and prints, per\n"
              "output: max_abs = max |mixq - ref|, rel_l2 = |mixq - ref|_2 / |ref|_2 and cosine, the\n"
              "cosine similarity of the two as vectors. Without --input the inputs are pseudo-random\n"
              "(floats uniform in [-1, 1), fixed --seed), with --shape for dynamic dims.");
  parser.AddPositional("MODEL.onnx", "the ONNX model MODEL.mixq was built from");
  parser.AddPositional("MODEL.mixq", "the built model to compare");
  parser.AddFlag("input", "i", "NAME=FILE.npy", "data for input NAME (just FILE.npy for a one-input model)", true);
  parser.AddFlag("shape", "s", "NAME:DIMS", "dims of a dynamic input for random data, e.g. x:1x3x224x224", true);
  parser.AddFlag("seed", "", "S", "seed of the random inputs (default 0)");
  if (int code = ParseOrExit(&parser, "compare", args); code >= 0) return code;
  if (parser.Has("input") && (parser.Has("shape") || parser.Has("seed")))
    return Fail("compare", InvalidArgument("--shape / --seed are for random inputs, not with --input"), kExitUsage);
  int64_t seed = 0;
  if (parser.Has("seed"))
    if (Status s = ParseInt(parser.Get("seed"), "--seed", 0, INT64_MAX, &seed); !s.ok())
      return Fail("compare", s, kExitUsage);

  std::unique_ptr<IModel> model;
  if (Status s = LoadModel(parser.Positional(1), &model); !s.ok()) return Fail("compare", s);
  const auto names = model->GetInputNames();
  std::vector<HostTensor> inputs;
  if (parser.Has("input")) {
    if (Status s = LoadInputs(parser.GetAll("input"), names, model->GetInputDataTypes(), &inputs); !s.ok())
      return Fail("compare", s, kExitUsage);
  } else {
    std::vector<Dims> dims;
    if (Status s = ResolveInputDims(parser.GetAll("shape"), names, model->GetInputDimensions(), &dims); !s.ok())
      return Fail("compare", s, kExitUsage);
    RandomInputs(names, model->GetInputDataTypes(), dims, static_cast<uint64_t>(seed), &inputs);
  }
  std::unique_ptr<IModel> reference;
  if (Status s = BuildReference(parser.Positional(0), *model, &reference); !s.ok()) return Fail("compare", s);

  std::vector<std::unique_ptr<IRTTensor>> got, want;
  if (Status s = Run(*model, inputs, &got); !s.ok()) return Fail("compare", WithContext(s, parser.Positional(1)));
  if (Status s = Run(*reference, inputs, &want); !s.ok()) return Fail("compare", WithContext(s, "float32 reference"));

  std::printf("%-32s %-18s %12s %12s %12s\n", "output", "dims", "max_abs", "rel_l2", "cosine");
  bool mismatched = false;
  for (const auto& g : got) {
    const IRTTensor* w = nullptr;
    for (const auto& candidate : want)
      if (candidate->GetName() == g->GetName()) w = candidate.get();
    if (!w) return Fail("compare", NotFound("the ONNX model has no output '", g->GetName(), "'"));
    if (g->GetDimensions() != w->GetDimensions())
      return Fail("compare", InvalidArgument("output '", g->GetName(), "' has dims ", g->GetDimensions().ToString(),
                                             ", the float32 reference ", w->GetDimensions().ToString()));
    std::vector<float> a, b;
    if (Status s = ToFloat(*g, &a); !s.ok()) return Fail("compare", s);
    if (Status s = ToFloat(*w, &b); !s.ok()) return Fail("compare", s);
    const Metrics m = Measure(a, b);
    std::printf("%-32s %-18s %12.6g %12.6g %12.9f\n", g->GetName().c_str(), g->GetDimensions().ToString().c_str(),
                m.max_abs, m.rel_l2, m.cosine);
    if (m.nonfinite_mismatches > 0) {
      std::fprintf(stderr,
                   "mixq compare: warning: output '%s': %lld of %zu elements are NaN or infinite in only one "
                   "of mixq and the float32 reference (or infinite with different signs)\n",
                   g->GetName().c_str(), static_cast<long long>(m.nonfinite_mismatches), b.size());
      mismatched = true;
    }
  }
  // Exit 1 when no finite error describes an output: a NaN must not pass for a perfect match.
  return mismatched ? 1 : 0;
}

}  // namespace mixq::cli
