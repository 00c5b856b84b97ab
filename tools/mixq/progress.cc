#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace mixq::cli {

ProgressBar::ProgressBar(std::string label, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(int64_t done, int64_t total) {
  if (!tty_) {
    if (!started_) std::fprintf(stderr, "%s: %lld %s\n", label_.c_str(), static_cast<long long>(total), unit_.c_str());
    started_ = true;
    return;
  }
  started_ = true;
  constexpr int kWidth = 30;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (total > 0) {
    const int filled = static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld  %.1fs", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total),
                 seconds);
  } else {
    std::fprintf(stderr, "\r%s %lld  %.1fs", label_.c_str(), static_cast<long long>(done), seconds);
  }
  std::fflush(stderr);
}

void ProgressBar::Finish(const std::string& summary) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s: %s in %.1fs\n", tty_ && started_ ? "\n" : "", label_.c_str(), summary.c_str(), seconds);
}

}  // namespace mixq::cli
