// libFuzzer target for the ONNX importer: any bytes must give a Status (never
// a crash, hang or sanitizer report), and a network the parser accepts must
// pass INetwork::Verify (the importer runs it too) and build in float32.
//
// Seed corpus (not committed): the ONNX backend node test models, e.g.
//   mkdir -p corpus && for d in .venv/lib/python3*/site-packages/onnx/backend/test/data/node/test_*;
//   do cp $d/model.onnx corpus/$(basename $d).onnx; done
//   ./onnx_parser_fuzz -max_len=4096 -max_total_time=60 corpus/
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "mixq/mixq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto network = mixq::CreateINetwork();
  auto parser = mixq::CreateIParser(mixq::ModelKind::kOnnx);
  mixq::Status status = parser->ParseFromMemory(network.get(), data, size, "");
  if (!status.ok()) {
    if (status.message().empty() || status.message().find('\n') != std::string::npos) {
      std::fprintf(stderr, "error status without a one-line message: %s\n", status.ToString().c_str());
      std::abort();
    }
    return 0;
  }
  mixq::Status verified = network->Verify();
  if (!verified.ok()) {
    std::fprintf(stderr, "accepted network fails Verify: %s\n", verified.ToString().c_str());
    std::abort();
  }
  return 0;
}
