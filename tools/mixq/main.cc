// `mixq`: build, run, benchmark, inspect and compare models from the shell.
// One file per verb (build.cc, run.cc, ...); this one only dispatches.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli.h"
#include "mixq/version.h"
#include "util/omp_wait_policy.h"

namespace {

struct Verb {
  const char* name;
  int (*main)(const std::vector<std::string>&);
  const char* summary;
};

constexpr Verb kVerbs[] = {
    {"build", mixq::cli::BuildMain, "import an ONNX model, calibrate and build a .mixq model file"},
    {"run", mixq::cli::RunMain, "run a .mixq model on .npy inputs and write its outputs as .npy"},
    {"bench", mixq::cli::BenchMain, "measure latency and throughput of a .mixq model"},
    {"inspect", mixq::cli::InspectMain, "print a model's inputs, outputs, weight bytes and precision report"},
    {"compare", mixq::cli::CompareMain, "compare a .mixq model's outputs with the float32 build of its ONNX model"},
    {"analyze", mixq::cli::AnalyzeMain,
     "per-tensor error of a quantized build against float32; operators ranked by harm"},
    {"tune", mixq::cli::TuneMain, "promote the most harmful operators until the outputs meet an accuracy target"},
    {"export-onnx", mixq::cli::ExportOnnxMain, "write a built model as ONNX with QDQ nodes carrying its scales"},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: mixq VERB [options]   (mixq VERB --help for a verb's options)\n\nverbs:\n");
  for (const auto& v : kVerbs) std::fprintf(out, "  %-11s  %s\n", v.name, v.summary);
  std::fprintf(out,
               "\n  --version    print mixq's version and exit\n"
               "\nexit codes: 0 success, 1 the work failed (bad model, failed build...), 2 bad command line\n");
}

}  // namespace

int main(int argc, char** argv) {
  mixq::util::PreferPassiveOpenMpWaits(argv);
  if (argc < 2) {
    PrintUsage(stderr);
    return mixq::cli::kExitUsage;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    PrintUsage(stdout);
    return 0;
  }
  if (verb == "--version") {
    std::printf("mixq %s\n", MIXQ_VERSION_STRING);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& v : kVerbs) {
    if (verb != v.name) continue;
    // The library reports errors as Status; this catch only turns what the
    // standard library may still throw (bad_alloc) into the one-line error.
    try {
      return v.main(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mixq %s: error: %s\n", v.name, e.what());
      return mixq::cli::kExitFailure;
    }
  }
  std::fprintf(
      stderr,
      "mixq: error: unknown verb '%s' (verbs: build, run, bench, inspect, compare, analyze, tune, export-onnx)\n",
      verb.c_str());
  return mixq::cli::kExitUsage;
}
