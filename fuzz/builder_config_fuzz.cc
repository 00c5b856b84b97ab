// libFuzzer target for the builder config JSON (IBuilderConfig::ParseFromString):
// any text must give a Status with a one-line message (no exception, no stack
// overflow, no sanitizer report), and a config it accepts must serialize
// (ToJson) and parse back to the same JSON.
//
// Seed corpus: fuzz/corpus/builder_config/ (committed).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mixq/builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = mixq::CreateIBuilderConfig();
  const mixq::Status status = config->ParseFromString(text);
  if (!status.ok()) {
    if (status.message().empty()) {
      std::fprintf(stderr, "error status without a message\n");
      std::abort();
    }
    return 0;
  }
  const std::string json = config->ToJson();
  auto again = mixq::CreateIBuilderConfig();
  const mixq::Status reparsed = again->ParseFromString(json);
  if (!reparsed.ok() || again->ToJson() != json) {
    std::fprintf(stderr, "accepted config does not round-trip: %s\n%s\n", reparsed.ToString().c_str(), json.c_str());
    std::abort();
  }
  return 0;
}
