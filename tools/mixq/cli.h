// Command-line plumbing shared by the verbs of the `mixq` tool: flag parsing,
// number / shape parsing and the one-line error convention.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mixq/builder.h"
#include "mixq/calibrator.h"
#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq::cli {

// Exit codes: 0 success, 1 the work failed (bad model, failed build...),
// 2 the command line was wrong (unknown flag, missing argument, bad number).
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The options of one verb, declared by the verb's own file (build.cc, run.cc,
// ...) and parsed by CLI11: --name VALUE, --name=VALUE, switches, repeated
// flags, positionals. Unknown flags are errors, never ignored.
class Args {
 public:
  Args(std::string verb, std::string synopsis, std::string description);

  // `short_name` is a single letter ("o" for -o) or empty.
  void AddFlag(const std::string& name, const std::string& short_name, const std::string& value_name,
               const std::string& help, bool repeated = false);
  void AddSwitch(const std::string& name, const std::string& help);
  void AddPositional(const std::string& name, const std::string& help);

  // args = everything after the verb. --help / -h anywhere sets HelpRequested().
  Status Parse(const std::vector<std::string>& args);
  bool HelpRequested() const { return help_; }
  std::string Help() const;

  bool Has(const std::string& name) const;
  // The last value of a flag, or `fallback` when it was not given.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::string& Positional(size_t index) const { return positional_values_.at(index); }

 private:
  struct Flag {
    std::string name, short_name, value_name, help;
    bool repeated = false;
    bool is_switch = false;
  };
  const Flag* Find(const std::string& name) const;

  std::string verb_, synopsis_, description_;
  std::vector<Flag> flags_;
  std::vector<std::pair<std::string, std::string>> positionals_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_values_;
  bool help_ = false;
};

// Integer in [min, max]; the message names `what`.
Status ParseInt(const std::string& text, const std::string& what, int64_t min, int64_t max, int64_t* value);
Status ParseDouble(const std::string& text, const std::string& what, double* value);
// "1x3x224x224" (or "1,3,224,224"); every dim >= 1.
Status ParseDims(const std::string& text, const std::string& what, Dims* dims);
// "name:1x3x224x224" -> name, dims (the last ':' separates, so names may contain ':').
Status ParseNamedDims(const std::string& text, const std::string& flag, std::string* name, Dims* dims);
// A Status message on one line (newlines become "; "), for stderr.
std::string OneLine(const std::string& text);

// --calib-algo ALGO as the calibrator's enum (linear, eqnm, entropy, percentile, auto).
Status ParseAlgorithm(const std::string& text, QuantizationAlgorithm* algorithm);
// Calibrates `network` on --calib-data with --calib-algo / --calib-percentile
// (build.cc); warnings go to stderr as "mixq VERB: warning: ...".
Status CalibrateFromArgs(const Args& args, const std::string& verb, INetwork* network, IBuilderConfig* config);

// The builder config of --config CFG.json and --precision MODE (which wins).
Status ConfigFromArgs(const Args& args, IBuilderConfig* config);

// Handlers of the verbs; each returns the process exit code.
int BuildMain(const std::vector<std::string>& args);
int RunMain(const std::vector<std::string>& args);
int BenchMain(const std::vector<std::string>& args);
int InspectMain(const std::vector<std::string>& args);
int CompareMain(const std::vector<std::string>& args);
int ExportOnnxMain(const std::vector<std::string>& args);
int AnalyzeMain(const std::vector<std::string>& args);
int TuneMain(const std::vector<std::string>& args);

// Prints "mixq VERB: error: MESSAGE" on one line to stderr; returns `code`.
int Fail(const std::string& verb, const Status& status, int code = kExitFailure);
// Parses `args` with `parser`, printing help or a usage error. Returns -1 when
// the verb should go on, otherwise the exit code to return.
int ParseOrExit(Args* parser, const std::string& verb, const std::vector<std::string>& args);

}  // namespace mixq::cli
