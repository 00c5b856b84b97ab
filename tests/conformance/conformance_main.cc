// Runs the official ONNX backend node tests shipped with the onnx Python
// package through the ONNX importer and the public API, in force_float32.
//
//   mixq_onnx_conformance --data <onnx>/backend/test/data/node --skip skip_list.txt
//                         [--filter substring] [--verbose]
//
// Every test is one of: passed; failed; skipped (listed in the skip list with
// a reason); not mapped (uses an ONNX op the importer has no rule for);
// opset outside the importer's range. Exit status 1 when any test fails that
// the skip list does not name, when a listed test passes (stale entry), or
// when an operator of ops.def is not exercised by any passing test.
#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frontend/onnx/rules.h"
#include "node_test.h"

namespace fs = std::filesystem;
using mixq::conformance::NodeTestResult;
using mixq::conformance::Verdict;

namespace {

struct SkipEntry {
  std::string pattern;  // test name or fnmatch pattern
  std::string reason;
  int matched = 0;
};

// Lines: "<test name or pattern>  # reason". A reason is required.
bool LoadSkipList(const std::string& path, std::vector<SkipEntry>* entries) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read skip list " << path << "\n";
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto hash = line.find('#');
    std::string name = line.substr(first, hash == std::string::npos ? std::string::npos : hash - first);
    name.erase(name.find_last_not_of(" \t") + 1);
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    reason.erase(0, reason.find_first_not_of(" \t"));
    if (reason.empty()) {
      std::cerr << path << ":" << number << ": entry '" << name << "' has no reason (\"name  # reason\")\n";
      return false;
    }
    entries->push_back({name, reason});
  }
  return true;
}

SkipEntry* FindSkip(std::vector<SkipEntry>& entries, const std::string& test) {
  for (auto& e : entries)
    if (fnmatch(e.pattern.c_str(), test.c_str(), 0) == 0) return &e;
  return nullptr;
}

// mixq operators with no single ONNX op, hence no ONNX node test: FakeQuantize
// is a QuantizeLinear -> DequantizeLinear pair (tests/python/test_qdq_import.py
// checks it against ONNX Runtime); Convert is the planner's storage conversion
// (tests/unit/execution_plan_test.cc, tests/python/test_quantized_kernels.py).
bool HasOnnxCounterpart(const std::string& op) {
  return op != "FakeQuantize" && op != "Convert";
}

std::vector<std::string> AllMixqOps() {
  std::vector<std::string> ops;
  for (const char* op : {
#define MIXQ_OP(kind, folder) #kind,
#include "ops/ops.def"
#undef MIXQ_OP
       })
    if (HasOnnxCounterpart(op)) ops.push_back(op);
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, skip_path, filter;
  bool verbose = false;
  mixq::conformance::Tolerance tolerance;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (arg == "--skip" && i + 1 < argc) {
      skip_path = argv[++i];
    } else if (arg == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else if (arg == "--rtol" && i + 1 < argc) {
      tolerance.rtol = std::stod(argv[++i]);
    } else if (arg == "--atol" && i + 1 < argc) {
      tolerance.atol = std::stod(argv[++i]);
    } else if (arg == "--export" && i + 1 < argc) {
      mixq::conformance::SetExportDir(argv[++i]);
    } else if (arg == "--verbose") {
      verbose = true;
    } else {
      std::cerr << "usage: " << argv[0]
                << " --data DIR --skip FILE [--filter TEXT] [--rtol R] [--atol A] [--export DIR] [--verbose]\n";
      return 2;
    }
  }
  std::vector<SkipEntry> skips;
  if (data.empty() || skip_path.empty() || !LoadSkipList(skip_path, &skips)) return 2;
  std::vector<fs::path> tests;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data, ec))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_", 0) == 0 &&
        entry.path().filename().string().find(filter) != std::string::npos)
      tests.push_back(entry.path());
  if (ec || tests.empty()) {
    std::cerr << "no node tests under " << data << "\n";
    return 2;
  }
  std::sort(tests.begin(), tests.end());

  const auto start = std::chrono::steady_clock::now();
  int passed = 0, frozen = 0, failed = 0, skipped = 0, not_mapped = 0, opset_outside = 0, stale = 0;
  std::map<std::string, int> unmapped_ops;  // ONNX op -> tests needing it
  std::set<std::string> covered_mixq, covered_onnx;
  for (const auto& dir : tests) {
    const std::string name = dir.filename().string();
    const NodeTestResult r = RunNodeTest(dir, tolerance);
    SkipEntry* skip = FindSkip(skips, name);
    if (skip) ++skip->matched;
    switch (r.verdict) {
      case Verdict::kNotMapped:
        ++not_mapped;
        for (const auto& op : r.onnx_ops)
          if (!mixq::onnx_import::FindRule(op)) ++unmapped_ops[op];
        if (verbose) std::cout << "NOT MAPPED " << name << ": " << r.detail << "\n";
        break;
      case Verdict::kOpsetOutside:
        ++opset_outside;
        if (verbose) std::cout << "OPSET " << name << ": " << r.detail << "\n";
        break;
      case Verdict::kPass:
        if (skip) {
          ++stale;
          std::cout << "STALE SKIP " << name << ": passes, remove it from the skip list\n";
        } else {
          ++passed;
          frozen += r.frozen_inputs;
          covered_mixq.insert(r.mixq_ops.begin(), r.mixq_ops.end());
          covered_onnx.insert(r.onnx_ops.begin(), r.onnx_ops.end());
          if (verbose) std::cout << "PASS " << name << "\n";
        }
        break;
      case Verdict::kFail:
        if (skip) {
          ++skipped;
          if (verbose) std::cout << "SKIP " << name << " (" << skip->reason << "): " << r.detail << "\n";
        } else {
          ++failed;
          std::cout << "FAIL " << name << ": " << r.detail << "\n";
        }
        break;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Every mixq operator that ONNX has must be exercised by a passing test.
  std::vector<std::string> uncovered;
  for (const auto& op : AllMixqOps())
    if (!covered_mixq.count(op)) uncovered.push_back(op);
  std::vector<std::string> untested_rules;
  for (const auto& rule : mixq::onnx_import::AllRules())
    if (!covered_onnx.count(rule.op_type)) untested_rules.push_back(rule.op_type);
  int unused_skips = 0;
  if (filter.empty())
    for (const auto& e : skips)
      if (e.matched == 0) {
        ++unused_skips;
        std::cout << "UNUSED SKIP " << e.pattern << ": matches no test\n";
      }

  std::cout << "\nONNX backend node tests (" << tests.size() << ", rtol " << tolerance.rtol << ", atol "
            << tolerance.atol << ", force_float32, " << seconds << " s)\n";
  std::cout << "  passed:        " << passed << " (" << frozen
            << " with attribute-like inputs such as Reshape's shape frozen to the data set's values)\n";
  std::cout << "  failed:        " << failed << "\n";
  std::cout << "  skipped:       " << skipped << " (skip list, each with a reason)\n";
  std::cout << "  not mapped:    " << not_mapped << " (use ONNX ops without an importer rule)\n";
  std::cout << "  opset outside: " << opset_outside << " (opset not in " << mixq::onnx_import::kMinOpset << "-"
            << mixq::onnx_import::kMaxOpset << ")\n";
  if (stale) std::cout << "  stale skips:   " << stale << " (listed but passing)\n";
  std::cout << "  mixq ops covered by passing tests: " << AllMixqOps().size() - uncovered.size() << "/"
            << AllMixqOps().size() << "\n";
  if (!uncovered.empty()) {
    std::cout << "  NOT COVERED:";
    for (const auto& op : uncovered) std::cout << " " << op;
    std::cout << "\n";
  }
  if (!untested_rules.empty()) {
    std::cout << "  mapped ONNX ops without a passing node test:";
    for (const auto& op : untested_rules) std::cout << " " << op;
    std::cout << "\n";
  }
  if (verbose) {
    std::cout << "  unmapped ONNX ops (tests):";
    for (const auto& [op, n] : unmapped_ops) std::cout << " " << op << "(" << n << ")";
    std::cout << "\n";
  }
  const bool ok = failed == 0 && stale == 0 && unused_skips == 0 && (uncovered.empty() || !filter.empty());
  std::cout << (ok ? "CONFORMANCE OK" : "CONFORMANCE FAILED") << "\n";
  return ok ? 0 : 1;
}
