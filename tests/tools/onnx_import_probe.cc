// Test helper for tests/python/test_qdq_import.py: imports an ONNX model,
// builds it in a precision mode, prints the precision report, exports the built
// model back to ONNX (QDQ) and runs it on DIR/input.npy.
//
//   mixq_onnx_import_probe MODEL.onnx MODE DIR
//     writes DIR/reexport.onnx and DIR/out_<i>.npy (one per output)
#include <cstdio>
#include <cstdlib>

#include "mixq/mixq.h"
#include "mixq/onnx_export.h"
#include "util/npy.h"

namespace mixq {
namespace {

Status Run(const std::string& path, const std::string& mode, const std::string& dir) {
  auto network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  Status s = parser->Parse(network.get(), path);
  if (!s.ok()) return s;
  auto config = CreateIBuilderConfig();
  s = config->ParseFromString(R"({"precision_config": {"precision_mode": ")" + mode + "\"}}");
  if (!s.ok()) return s;
  auto builder = CreateIBuilder();
  auto model = builder->BuildModel("imported", network.get(), config.get());
  if (!model) return builder->GetLastStatus();
  std::printf("%s", model->GetPrecisionReportJson().c_str());
  s = ExportToOnnx(*model, dir + "/reexport.onnx");
  if (!s.ok()) return s;
  NpyArray input;
  s = ReadNpy(dir + "/input.npy", &input);
  if (!s.ok()) return s;
  auto context = model->CreateIEngine()->CreateIContext();
  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  context->CreateInputTensors(&inputs);
  context->CreateOutputTensors(&outputs);
  inputs[0]->SetDimensions(Dims(input.shape));
  inputs[0]->SetData(input.bytes.data(), input.bytes.size());
  s = context->Enqueue(inputs, outputs);
  if (std::getenv("MIXQ_PROBE_PLAN")) std::fprintf(stderr, "%s\n%s", context->GetPrecisionReport().c_str(), context->GetExecutionPlan(false).c_str());
  if (!s.ok()) return s;
  for (size_t i = 0; i < outputs.size(); ++i) {
    s = WriteNpy(dir + "/out_" + std::to_string(i) + ".npy", outputs[i]->GetDataType(),
                 outputs[i]->GetDimensions().GetDims(), outputs[i]->GetData());
    if (!s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace
}  // namespace mixq

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: mixq_onnx_import_probe MODEL.onnx MODE DIR\n");
    return 2;
  }
  mixq::Status s = mixq::Run(argv[1], argv[2], argv[3]);
  if (!s.ok()) {
    std::fprintf(stderr, "mixq_onnx_import_probe: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
