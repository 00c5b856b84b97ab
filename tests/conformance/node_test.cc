#include "node_test.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "frontend/onnx/onnx_value.h"
#include "frontend/onnx/onnx_verifier.h"
#include "frontend/onnx/rules.h"
#include "mixq/mixq.h"
#include "mixq/onnx_export.h"
#include "onnx/onnx.pb.h"
#include "util/element.h"

namespace mixq::conformance {

namespace fs = std::filesystem;
using onnx_import::FoldValue;

namespace {

bool ReadFile(const fs::path& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *bytes = s.str();
  return true;
}

std::string ReadTensor(const fs::path& path, FoldValue* value) {
  std::string bytes;
  if (!ReadFile(path, &bytes)) return "cannot read " + path.string();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return path.filename().string() + " is not a TensorProto (sequence / optional)";
  Status s = onnx_import::FoldValueFromProto(proto, "", value);
  if (!s.ok()) return path.filename().string() + ": " + s.message();
  return "";
}

// Numbered files prefix_0.pb, prefix_1.pb, ... in `dir`.
std::vector<fs::path> Numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

double AsDouble(DataType type, const uint8_t* p) {
  return ElementAsDouble(type, p);
}

std::string Compare(const std::string& name, const IRTTensor& got, const FoldValue& want, const Tolerance& tol) {
  if (got.GetDataType() != want.dtype)
    return name + ": type " + DataTypeName(got.GetDataType()) + ", expected " + DataTypeName(want.dtype);
  if (got.GetDimensions() != Dims(want.dims))
    return name + ": dims " + got.GetDimensions().ToString() + ", expected " + Dims(want.dims).ToString();
  const std::vector<uint8_t> bytes = want.Bytes();
  const size_t width = DataTypeSize(want.dtype);
  const auto* g = static_cast<const uint8_t*>(got.GetData());
  const bool is_float =
      want.dtype == DataType::FLOAT32 || want.dtype == DataType::FLOAT16 || want.dtype == DataType::BFLOAT16;
  const int64_t count = want.ElementCount();
  if (count > 0 && !g) return name + ": no data";
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double a = AsDouble(want.dtype, g + i * width), b = AsDouble(want.dtype, bytes.data() + i * width);
    bool ok;
    if (!is_float) {
      ok = a == b;
    } else if (std::isnan(b) || std::isnan(a)) {
      ok = std::isnan(a) && std::isnan(b);
    } else if (std::isinf(b) || std::isinf(a)) {
      ok = a == b;
    } else {
      ok = std::fabs(a - b) <= tol.atol + tol.rtol * std::fabs(b);
    }
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      if (is_float && std::isfinite(a) && std::isfinite(b)) worst = std::max(worst, std::fabs(a - b));
    }
  }
  if (bad == 0) return "";
  std::ostringstream m;
  m << name << ": " << bad << " of " << count << " elements differ; first at " << first << " (got "
    << AsDouble(want.dtype, g + first * width) << ", expected " << AsDouble(want.dtype, bytes.data() + first * width)
    << "), max abs diff " << worst;
  return m.str();
}

// Graph inputs that feed an input mixq takes as an attribute (Reshape's
// shape, Slice's starts, ...): the node tests pass them as run-time inputs,
// mixq needs constants, so they are frozen to the data set's values.
std::set<std::string> AttributeInputs(const onnx::ModelProto& model) {
  std::set<std::string> names;
  for (const auto& node : model.graph().node()) {
    const onnx_import::Rule* rule = onnx_import::FindRule(node.op_type());
    if (!rule) continue;
    for (const char* p = rule->const_inputs; *p; ++p) {
      if (*p < '0' || *p > '9') continue;
      const int index = *p - '0';
      if (index < node.input_size() && !node.input(index).empty()) names.insert(node.input(index));
    }
  }
  return names;
}

fs::path& ExportDir() {
  static fs::path dir;
  return dir;
}

void ExportBuiltModel(const IModel& model, const fs::path& set_dir, const std::vector<fs::path>& fed,
                      const std::vector<fs::path>& outputs) {
  const fs::path dir = ExportDir() / set_dir.parent_path().filename();
  fs::create_directories(dir);
  std::string bytes;
  Status s = ExportToOnnxBytes(model, &bytes);
  if (!s.ok()) {
    std::ofstream(dir / "error.txt") << s.ToString() << "\n";
    return;
  }
  std::ofstream(dir / "model.onnx", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream files(dir / "files.txt");
  for (const auto& f : fed) files << "in " << fs::absolute(f).string() << "\n";
  for (const auto& f : outputs) files << "out " << fs::absolute(f).string() << "\n";
}

// Imports `model` with the attribute-like inputs of `set_dir` frozen, builds,
// runs the data set and compares. "" when everything matches.
std::string RunDataSet(const onnx::ModelProto& original, const fs::path& set_dir, const Tolerance& tol,
                       NodeTestResult* result) {
  onnx::ModelProto model = original;
  const auto input_files = Numbered(set_dir, "input_"), output_files = Numbered(set_dir, "output_");
  const std::set<std::string> frozen = AttributeInputs(model);
  std::vector<fs::path> fed;
  {
    auto* graph = model.mutable_graph();
    std::set<std::string> initializers;
    for (const auto& init : graph->initializer()) initializers.insert(init.name());
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
    size_t k = 0;
    for (const auto& input : graph->input()) {
      if (initializers.count(input.name())) {
        *kept.Add() = input;
        continue;
      }
      if (k >= input_files.size()) return set_dir.filename().string() + ": fewer input files than graph inputs";
      const fs::path file = input_files[k++];
      if (!frozen.count(input.name())) {
        *kept.Add() = input;
        fed.push_back(file);
        continue;
      }
      std::string bytes;
      onnx::TensorProto tensor;
      if (!ReadFile(file, &bytes) || !tensor.ParseFromString(bytes)) return "cannot read " + file.string();
      tensor.set_name(input.name());
      *graph->add_initializer() = tensor;
      result->frozen_inputs = true;
    }
    graph->mutable_input()->Swap(&kept);
  }
  const std::string bytes = model.SerializeAsString();
  auto network = CreateINetwork();
  auto parser = CreateIParser(ModelKind::kOnnx);
  Status s = parser->ParseFromMemory(network.get(), bytes.data(), bytes.size(), set_dir.parent_path().string());
  if (!s.ok()) return "import: " + s.ToString();
  for (INode* node : network->GetAllNodes()) result->mixq_ops.insert(node->GetOpType());
  auto config = CreateIBuilderConfig();
  s = config->ParseFromString(R"({"precision_config": {"precision_mode": "force_float32"}})");
  if (!s.ok()) return "config: " + s.ToString();
  auto builder = CreateIBuilder();
  auto built = builder->BuildModel(set_dir.parent_path().filename().string(), network.get(), config.get());
  if (!built) return "build: " + builder->GetLastStatus().ToString();
  auto engine = built->CreateIEngine();
  if (!engine) return "engine: " + built->GetLastStatus().ToString();
  auto context = engine->CreateIContext();

  std::vector<std::unique_ptr<IRTTensor>> inputs, outputs;
  s = context->CreateInputTensors(&inputs);
  if (s.ok()) s = context->CreateOutputTensors(&outputs);
  if (!s.ok()) return s.ToString();
  if (fed.size() != inputs.size())
    return std::to_string(fed.size()) + " input files for " + std::to_string(inputs.size()) + " network inputs";
  if (output_files.size() != outputs.size())
    return std::to_string(output_files.size()) + " output files for " + std::to_string(outputs.size()) +
           " network outputs";
  std::vector<std::vector<uint8_t>> buffers(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    FoldValue v;
    std::string err = ReadTensor(fed[i], &v);
    if (!err.empty()) return err;
    if (v.dtype != inputs[i]->GetDataType())
      return "input " + std::to_string(i) + " is " + DataTypeName(v.dtype) + ", the model takes " +
             DataTypeName(inputs[i]->GetDataType());
    buffers[i] = v.Bytes();
    s = inputs[i]->SetDimensions(Dims(v.dims));
    if (s.ok()) s = inputs[i]->SetData(buffers[i].data(), buffers[i].size());
    if (!s.ok()) return s.ToString();
  }
  s = context->Enqueue(inputs, outputs);
  if (!s.ok()) return "run: " + s.ToString();
  for (size_t i = 0; i < outputs.size(); ++i) {
    FoldValue want;
    std::string err = ReadTensor(output_files[i], &want);
    if (!err.empty()) return err;
    err = Compare("output " + std::to_string(i) + " '" + outputs[i]->GetName() + "'", *outputs[i], want, tol);
    if (!err.empty()) return set_dir.filename().string() + " " + err;
  }
  if (!ExportDir().empty()) ExportBuiltModel(*built, set_dir, fed, output_files);
  return "";
}

}  // namespace

NodeTestResult RunNodeTest(const fs::path& dir, const Tolerance& tolerance) {
  NodeTestResult result;
  std::string bytes;
  if (!ReadFile(dir / "model.onnx", &bytes)) {
    result.detail = "no model.onnx";
    return result;
  }
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    result.detail = "model.onnx does not decode";
    return result;
  }
  std::vector<std::string> unmapped;
  for (const auto& node : model.graph().node()) {
    result.onnx_ops.insert(node.op_type());
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if ((!default_domain || !onnx_import::FindRule(node.op_type())) &&
        std::find(unmapped.begin(), unmapped.end(), node.op_type()) == unmapped.end())
      unmapped.push_back(node.op_type());
  }
  if (!unmapped.empty()) {
    result.verdict = Verdict::kNotMapped;
    for (const auto& op : unmapped) result.detail += (result.detail.empty() ? "" : ", ") + op;
    return result;
  }
  int opset = 0;
  if (Status s = onnx_import::DefaultOpset(model, &opset); !s.ok()) {
    result.verdict = Verdict::kOpsetOutside;
    result.detail = s.message();
    return result;
  }
  int sets = 0;
  for (int i = 0;; ++i) {
    const fs::path set_dir = dir / ("test_data_set_" + std::to_string(i));
    if (!fs::exists(set_dir)) break;
    ++sets;
    std::string err = RunDataSet(model, set_dir, tolerance, &result);
    if (!err.empty()) {
      result.detail = err;
      return result;
    }
  }
  if (sets == 0) {
    result.detail = "no test_data_set_*";
    return result;
  }
  result.verdict = Verdict::kPass;
  return result;
}

void SetExportDir(const fs::path& dir) {
  ExportDir() = dir;
}

}  // namespace mixq::conformance
