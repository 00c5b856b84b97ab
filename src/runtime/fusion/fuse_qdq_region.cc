// QDQ regions as lookup tables. An imported QDQ model fake-quantizes a
// tensor and then runs float operators on it whose every value depends on
// that tensor's 8-bit code alone: Elementwise with one-element constants or
// between two such values, activations, more per-tensor FakeQuantize (PP-OCR's
// affine blocks and decomposed hard_swish between two convolutions: x *
// clip(x + 3, 0, 6) / 6, each step fake-quantized). Such a region has at most
// 256 distinct inputs, so its output is a table of 256 floats: the
// FakeQuantize step quantizes each value to its code and looks the region's
// output up (ops/fake_quantize/cpu_avx2_table.cc), one pass instead of one
// or two per operator. The table is computed by the reference kernels of the
// region's own nodes run over the 256 dequantized codes, so the fused step
// returns exactly what the separate steps return (and what force_reference,
// which fuses nothing, computes).
#include <algorithm>
#include <map>
#include <set>

#include "quant/quant_math.h"
#include "runtime/fusion/fusion_rule.h"
#include "util/status_util.h"

namespace mixq::runtime {

namespace {

// A one-element FLOAT32 constant (broadcast to every position).
bool ScalarConstant(const FusionSite& site, int value) {
  const ops::ValueInfo& v = site.storage[static_cast<size_t>(value)];
  return v.const_data && v.dtype == DataType::FLOAT32 && ir::ElementCount(v.shape) == 1;
}

// Node `id` computes, position by position, a function of region values
// (one at least) and one-element constants, into a plain float32 tensor of
// the region's shape.
bool Joins(const FusionSite& site, int id, const std::set<int>& values, const ir::Shape& shape) {
  const ir::Node& n = *site.graph.node(id);
  const bool op_ok = n.op == OpKind::kElementwise || n.op == OpKind::kActivation || n.op == OpKind::kUnary ||
                     PerTensorInt8FakeQuantize(n);
  if (!op_ok || n.outputs.size() != 1 || !n.input_precision.empty() || !n.output_type.empty()) return false;
  for (DataType c : n.input_compute)
    if (c != DataType::FLOAT32) return false;
  const ops::ValueInfo& out = site.storage[static_cast<size_t>(n.outputs[0])];
  if (!PlainFloat32(out) || out.shape != shape) return false;
  bool reads_region = false;
  for (int in : n.inputs) {
    if (in < 0) continue;
    if (values.count(in)) {
      reads_region = true;
    } else if (!ScalarConstant(site, in)) {
      return false;
    }
  }
  return reads_region;
}

}  // namespace

bool PerTensorInt8FakeQuantize(const ir::Node& n) {
  return n.op == OpKind::kFakeQuantize && n.attrs.Int("bits", 8) == 8 && n.attrs.Int("axis", -1) < 0 &&
         n.attrs.Floats("scales").size() == 1 && n.attrs.Ints("zero_points").size() == 1 &&
         n.attrs.Floats("scales")[0] > 0.0f;
}

bool FindQdqRegion(const FusionSite& site, std::vector<int>* region, int* sink) {
  const ir::Node& source = *site.graph.node(site.anchor);
  if (!site.topo_index) return false;
  const std::vector<int>& topo_index = *site.topo_index;
  if (!PerTensorInt8FakeQuantize(source) || source.outputs.size() != 1 || source.inputs.size() != 1) return false;
  const int start = source.outputs[0];
  const ops::ValueInfo& x = site.storage[static_cast<size_t>(source.inputs[0])];
  const ops::ValueInfo& y = site.storage[static_cast<size_t>(start)];
  // The input as float32, or as the FakeQuantize's own int8 codes (written
  // by its producer: the lowering's WriteRegionCodes).
  const bool codes = x.dtype == DataType::INT8 && x.quant && !x.quant->dynamic && x.quant->scales.size() == 1 &&
                     x.quant->zero_points.size() == 1 && x.quant->scales[0] == source.attrs.Floats("scales")[0] &&
                     x.quant->zero_points[0] == source.attrs.Ints("zero_points")[0];
  if (!(PlainFloat32(x) || codes) || !PlainFloat32(y) || !ir::IsStatic(y.shape) ||
      site.is_output[static_cast<size_t>(start)])
    return false;
  std::set<int> values = {start}, nodes;
  for (bool grew = true; grew;) {  // to a fixed point: a node may read two region values
    grew = false;
    for (int v : std::vector<int>(values.begin(), values.end()))
      for (int c : site.consumers[static_cast<size_t>(v)]) {
        if (nodes.count(c) || !Joins(site, c, values, y.shape)) continue;
        nodes.insert(c);
        values.insert(site.graph.node(c)->outputs[0]);
        grew = true;
      }
  }
  // One Elementwise operator: the FakeQuantize fusion does as well. One
  // activation (gelu, sigmoid, tanh: a polynomial per element) is worth a
  // table.
  if (nodes.empty() || (nodes.size() < 2 && site.graph.node(*nodes.begin())->op == OpKind::kElementwise)) return false;
  // Exactly one value leaves the region (read outside it, or a network output
  // / observed), and it is not the FakeQuantize's own.
  int leaving = -1;
  for (int v : values) {
    bool outside = site.is_output[static_cast<size_t>(v)];
    for (int c : site.consumers[static_cast<size_t>(v)]) outside = outside || !nodes.count(c);
    if (!outside) continue;
    if (leaving >= 0 || v == start) return false;
    leaving = v;
  }
  if (leaving < 0) return false;
  region->assign(nodes.begin(), nodes.end());
  std::sort(region->begin(), region->end(),
            [&](int a, int b) { return topo_index[static_cast<size_t>(a)] < topo_index[static_cast<size_t>(b)]; });
  *sink = leaving;
  return true;
}

Status TabulateQdqRegion(const FusionSite& site, const std::vector<int>& region, int sink, kernels::Isa max_isa,
                         std::vector<float>* table) {
  const ir::Node& source = *site.graph.node(site.anchor);
  const float scale = source.attrs.Floats("scales")[0];
  const auto zero_point = static_cast<int32_t>(source.attrs.Ints("zero_points")[0]);
  std::map<int, std::vector<float>> values;  // region value -> its 256 entries, by code + 128
  std::vector<float>& start = values[source.outputs[0]];
  for (int q = -128; q <= 127; ++q) start.push_back(quant::Dequantize(q, scale, zero_point));
  const ir::Shape row = {256};
  for (int id : region) {
    const ir::Node& n = *site.graph.node(id);
    std::vector<ops::ValueInfo> infos(n.inputs.size());
    std::vector<const ops::ValueInfo*> ptrs(n.inputs.size(), nullptr);
    std::vector<ops::TensorView> views(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int v = n.inputs[i];
      if (v < 0) continue;
      auto it = values.find(v);
      if (it != values.end()) {
        infos[i] = ops::ValueInfo{DataType::FLOAT32, row, nullptr, nullptr, false};
        views[i] = ops::TensorView{DataType::FLOAT32, row, it->second.data(), nullptr};
      } else {
        infos[i] = site.storage[static_cast<size_t>(v)];  // a one-element constant
        views[i] = ops::TensorView{DataType::FLOAT32, infos[i].shape, const_cast<void*>(infos[i].const_data), nullptr};
      }
      ptrs[i] = &infos[i];
    }
    std::vector<ops::ValueInfo> outs = {ops::ValueInfo{DataType::FLOAT32, row, nullptr, nullptr, false}};
    const std::vector<DataType> compute(n.inputs.size(), DataType::FLOAT32);
    const std::vector<ops::PostOp> none;
    ops::KernelInit init{n.attrs, ptrs, outs, &compute, &none};
    const ops::KernelDef* def = nullptr;
    MIXQ_RETURN_IF_ERROR(ops::SelectKernel(n.op, init, /*reference_only=*/true, max_isa, &def));
    std::unique_ptr<ops::Kernel> kernel;
    MIXQ_RETURN_IF_ERROR(def->make(init, &kernel));
    std::vector<float>& result = values[n.outputs[0]];
    result.assign(256, 0.0f);
    MIXQ_RETURN_IF_ERROR(kernel->Run(views, {ops::TensorView{DataType::FLOAT32, row, result.data(), nullptr}}));
  }
  *table = values.at(sink);
  return Status::OK();
}

bool QuantizedSink(const FusionSite& site, int sink, int* quantize_node, int* quantized) {
  if (site.is_output[static_cast<size_t>(sink)]) return false;
  const int consumer = SoleConsumer(site, sink);
  if (consumer < 0) return false;
  const ir::Node& n = *site.graph.node(consumer);
  if (n.op != OpKind::kConvert || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  const ops::ValueInfo& q = site.storage[static_cast<size_t>(n.outputs[0])];
  const ops::ValueInfo& y = site.storage[static_cast<size_t>(sink)];
  if (q.dtype != DataType::INT8 || !q.quant || q.quant->dynamic || q.quant->scales.size() != 1 ||
      q.quant->zero_points.size() != 1 || q.quant->bits != 8 || q.shape != y.shape)
    return false;
  *quantize_node = consumer;
  *quantized = n.outputs[0];
  return true;
}

void QuantizeTable(const ops::ValueInfo& quantized, std::vector<float>* table) {
  const float scale = quantized.quant->scales[0];
  const int32_t zero_point = quantized.quant->zero_points[0];
  for (float& y : *table) y = static_cast<float>(quant::Quantize(y, scale, zero_point, 8));
}

}  // namespace mixq::runtime
