// A progress bar on stderr: redrawn in place on a terminal; on anything else
// (a log, a pipe) only a start and an end line, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mixq::cli {

class ProgressBar {
 public:
  // `unit` names what is counted ("samples", "steps"...).
  explicit ProgressBar(std::string label, std::string unit = "samples");
  // `total` < 0 when unknown.
  void Update(int64_t done, int64_t total);
  // Ends the bar with a summary line.
  void Finish(const std::string& summary);

 private:
  std::string label_;
  std::string unit_;
  bool tty_;
  bool started_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mixq::cli
