// Before mapping, every DequantizeLinear is removed from the ONNX graph:
//  - DQ over an integer initializer (weights, int32 biases) becomes a float
//    initializer holding exactly s * (q - z); the weights' parameters are kept;
//  - DQ over QuantizeLinear(x) (a fake-quantized activation) is bypassed: its
//    consumers read x, and x's parameters are kept; where other readers
//    keep the DQ as a FakeQuantize of x, the quantizable readers read that
//    FakeQuantize's output instead, quantized with the same parameters (the
//    same codes), so x keeps a single reader.
// After mapping, the kept parameters are set on the network's tensors
// (ITensor::SetQuantizationParameters, used exactly), and every quantizable
// input (Conv / ConvTranspose / MatMul / Gemm inputs 0 and 1) reading such a
// tensor is set to QINT8 / QINT16 with SetPrecision, so the QDQ model runs
// quantized whatever the network-level mode. A Conv bias given as int32
// codes in the accumulator's scale (DQ scale = s_x * s_w[c] in float32, zero
// point 0: what quantize_static writes) is set to INT32 the same way where
// float32 holds its sums exactly (KeepFloatExactInt32Biases), so it joins the
// integer accumulator as ONNX Runtime's QLinearConv adds it and the int8
// convolutions may fold the input's zero point into it; other int32 biases
// are dequantized into float biases. Pairs in front of operators that
// mixq runs in float (Add, pooling, ...) leave those operators in float: the
// precision report shows it.
//
// uint8 parameters are shifted to int8 (q - 128, z - 128), which is the same
// quantization. Activations must be quantized per tensor.
#include "frontend/onnx/qdq_import.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "frontend/onnx/onnx_value.h"
#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

// Set by the pass on a DequantizeLinear it keeps, now reading the float
// tensor its QuantizeLinear read: the rule maps it to a FakeQuantize.
constexpr const char* kFakeQuantizeMark = "mixq_fake_quantize";

struct Params {
  QuantizationParameters params;
  bool bias = false;  // int32: dequantized into a float bias, no parameters kept
};

// ONNX readers that mixq runs quantized (inputs 0 and 1).
bool QuantizableReader(const onnx::NodeProto& node, int input) {
  const std::string& op = node.op_type();
  return (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul") && input < 2;
}

const onnx::TensorProto* FindInitializer(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

int64_t AxisAttr(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute())
    if (a.name() == "axis") return a.i();
  return 1;
}

// Scale and zero point of a Q / DQ node (inputs 1 and 2), from initializers.
Status ReadParams(const onnx::GraphProto& g, const onnx::NodeProto& node, int64_t data_rank, Params* out) {
  const std::string what = StrCat(node.op_type(), " '", node.name(), "'");
  if (node.input_size() < 2) return InvalidArgument(what, " has no scale input");
  const onnx::TensorProto* scale_proto = FindInitializer(g, node.input(1));
  if (!scale_proto) return Unimplemented(what, ": scale '", node.input(1), "' must be an initializer");
  FoldValue scale;
  MIXQ_RETURN_IF_ERROR(FoldValueFromProto(*scale_proto, "", &scale));
  std::vector<float> scales;
  MIXQ_RETURN_IF_ERROR(scale.ToFloats(what + " scale", &scales));
  if (scales.empty()) return InvalidArgument(what, " has an empty scale");
  if (scale.dims.size() > 1) return InvalidArgument(what, ": the scale must be a scalar or 1-D");
  FoldValue zero;
  DataType zero_type = DataType::UINT8;  // ONNX's default without a zero point
  std::vector<int64_t> zeros(scales.size(), 0);
  if (node.input_size() > 2 && !node.input(2).empty()) {
    const onnx::TensorProto* zero_proto = FindInitializer(g, node.input(2));
    if (!zero_proto) return Unimplemented(what, ": zero point '", node.input(2), "' must be an initializer");
    MIXQ_RETURN_IF_ERROR(FoldValueFromProto(*zero_proto, "", &zero));
    MIXQ_RETURN_IF_ERROR(zero.ToInt64s(what + " zero point", &zeros));
    zero_type = zero.dtype;
  }
  if (zeros.size() != scales.size())
    return InvalidArgument(what, " has ", scales.size(), " scales but ", zeros.size(), " zero points");
  if (zero_type == DataType::INT32) {
    out->bias = true;
    return Status::OK();
  }
  QuantizationParameters& p = out->params;
  p.scales = scales;
  if (zero_type == DataType::INT8 || zero_type == DataType::UINT8)
    p.bits = 8;
  else if (zero_type == DataType::INT16)
    p.bits = 16;
  else
    return Unimplemented(what, ": zero point type ", DataTypeName(zero_type), " (int8, uint8, int16 are)");
  const int64_t shift = zero_type == DataType::UINT8 ? 128 : 0;
  for (int64_t z : zeros) p.zero_points.push_back(static_cast<int32_t>(z - shift));
  p.axis = -1;
  if (scale.dims.size() == 1 && scales.size() > 1) {
    int64_t axis = AxisAttr(node);
    if (axis < 0) axis += data_rank;
    p.axis = axis;
  }
  return Status::OK();
}

// s * (q - z) per element, per axis where the parameters say; `centered`
// (optional) gets q - z.
Status Dequantize(const FoldValue& q, const Params& params, const std::vector<float>& bias_scales,
                  const std::vector<int64_t>& bias_zeros, int64_t axis, std::vector<float>* out,
                  std::vector<int64_t>* centered = nullptr) {
  std::vector<int64_t> values;
  MIXQ_RETURN_IF_ERROR(q.ToInt64s("quantized initializer", &values));
  const bool per_axis = params.bias ? bias_scales.size() > 1 : params.params.axis >= 0;
  const int64_t ax = params.bias ? axis : params.params.axis;
  int64_t inner = 1, channels = 1;
  if (per_axis) {
    if (ax < 0 || ax >= static_cast<int64_t>(q.dims.size()))
      return InvalidArgument("quantization axis ", ax, " out of range");
    channels = q.dims[static_cast<size_t>(ax)];
    for (size_t d = static_cast<size_t>(ax) + 1; d < q.dims.size(); ++d) inner *= q.dims[d];
  }
  const size_t count = params.bias ? bias_scales.size() : params.params.scales.size();
  if (per_axis && static_cast<int64_t>(count) != channels)
    return InvalidArgument(count, " scales for ", channels, " slices along axis ", ax);
  out->resize(values.size());
  if (centered) centered->resize(values.size());
  const int64_t shift = q.dtype == DataType::UINT8 ? 128 : 0;
  for (size_t e = 0; e < values.size(); ++e) {
    const size_t c = per_axis ? static_cast<size_t>((static_cast<int64_t>(e) / inner) % channels) : 0;
    const float s = params.bias ? bias_scales[c] : params.params.scales[c];
    const int64_t z = params.bias ? bias_zeros[c] : params.params.zero_points[c] + shift;
    (*out)[e] = s * static_cast<float>(values[e] - z);
    if (centered) (*centered)[e] = values[e] - z;
  }
  return Status::OK();
}

class QdqImportPass : public ImportPass {
 public:
  const char* name() const override { return "QDQ import"; }
  Status BeforeMapping(onnx::ModelProto* model) override;
  Status AfterMapping(Importer& importer) override;

 private:
  // INT32 on the bias input of a quantized Conv2D whose bias is one of
  // int32_bias_scales_, in the accumulator's scale.
  Status SetInt32Bias(Importer& importer, const std::map<const ITensor*, const QuantizationParameters*>& by_tensor,
                      INode* node);
  std::map<std::string, QuantizationParameters> params_;  // ONNX value name -> exact parameters
  // ONNX value name of a dequantized int32 bias -> its DQ scales, where its
  // zero points are 0 and it is an ONNX Conv's bias whose sums stay exact
  // in float32 (FloatExactInt32Biases).
  std::map<std::string, std::vector<float>> int32_bias_scales_;
};

// An int32 bias joins the accumulator as INT32 only where the reference's
// f32(acc + bias) is the exact integer, whatever the input codes: 255 *
// sum|w| + |bias| < 2^24 per output channel, with sum|w| over the channel's
// centered weight codes. There the integer and the dequantized float bias
// give the same sums, and oneDNN's int8 convolutions can take it bit-exactly
// (conv2d/cpu_onednn_int8.cc); a deeper layer keeps the float bias, which
// oneDNN also takes exactly (ResNet-50's layers with INT32 biases left
// oneDNN for mixq's own AMX kernel: 1.39x the time). Only ONNX Conv biases
// (OIHW weights: output channel o's codes are row o) that nothing else reads.
void KeepFloatExactInt32Biases(const onnx::GraphProto& g, const std::map<std::string, std::vector<int64_t>>& bias_codes,
                               const std::map<std::string, std::vector<int64_t>>& weight_row_sums,
                               std::map<std::string, std::vector<float>>* int32_bias_scales) {
  std::set<std::string> exact, other_reader;
  for (const auto& n : g.node()) {
    for (int i = 0; i < n.input_size(); ++i)
      if (!(n.op_type() == "Conv" && i == 2)) other_reader.insert(n.input(i));
    if (n.op_type() != "Conv" || n.input_size() < 3) continue;
    auto b = bias_codes.find(n.input(2));
    auto w = weight_row_sums.find(n.input(1));
    if (b == bias_codes.end() || w == weight_row_sums.end() || b->second.size() != w->second.size()) continue;
    bool ok = true;
    for (size_t o = 0; o < b->second.size(); ++o)
      ok = ok && 255 * w->second[o] + std::llabs(b->second[o]) < (int64_t{1} << 24);
    if (ok) exact.insert(n.input(2));
  }
  for (auto it = int32_bias_scales->begin(); it != int32_bias_scales->end();)
    it = exact.count(it->first) && !other_reader.count(it->first) ? std::next(it) : int32_bias_scales->erase(it);
}

// Whether `scales` (a bias's DQ scales) are the accumulator's, s_x * s_w[c]
// rounded to float32 as the precision planner computes them
// (passes/int32_bias.cc), so that requantizing the dequantized bias gives its
// codes back.
bool AccumulatorScales(const std::vector<float>& scales, const QuantizationParameters& x,
                       const QuantizationParameters& w) {
  if (x.scales.size() != 1 || w.scales.empty() || scales.empty()) return false;
  if (scales.size() != 1 && scales.size() % w.scales.size() != 0) return false;
  if (scales.size() == 1 && w.scales.size() != 1) return false;
  for (size_t c = 0; c < scales.size(); ++c) {
    const float product =
        static_cast<float>(static_cast<double>(x.scales[0]) * static_cast<double>(w.scales[c % w.scales.size()]));
    if (scales[c] != product) return false;
  }
  return true;
}

Status QdqImportPass::BeforeMapping(onnx::ModelProto* model) {
  onnx::GraphProto* g = model->mutable_graph();
  std::map<std::string, int> producer;
  for (int i = 0; i < g->node_size(); ++i)
    for (const auto& o : g->node(i).output()) producer[o] = i;
  std::set<std::string> graph_outputs;
  for (const auto& o : g->output()) graph_outputs.insert(o.name());

  std::vector<std::tuple<int, int, std::string>> bypass;  // (node, input, float tensor it reads instead)
  std::vector<int> fake_quantize;                         // DQs kept as FakeQuantize of their source
  std::set<int> removed;
  std::vector<onnx::TensorProto> new_initializers;
  std::map<std::string, std::vector<int64_t>> bias_codes, weight_row_sums;  // by DQ output name
  for (int i = 0; i < g->node_size(); ++i) {
    const onnx::NodeProto& dq = g->node(i);
    if (dq.op_type() != "DequantizeLinear" || !(dq.domain().empty() || dq.domain() == "ai.onnx")) continue;
    const std::string what = StrCat("DequantizeLinear '", dq.name(), "'");
    if (dq.input_size() < 1 || dq.output_size() < 1) return InvalidArgument(what, " needs an input and an output");
    const std::string& x = dq.input(0);
    if (const onnx::TensorProto* init = FindInitializer(*g, x)) {
      FoldValue q;
      MIXQ_RETURN_IF_ERROR(WithContext(FoldValueFromProto(*init, "", &q), what));
      Params params;
      MIXQ_RETURN_IF_ERROR(ReadParams(*g, dq, static_cast<int64_t>(q.dims.size()), &params));
      std::vector<float> bias_scales;
      std::vector<int64_t> bias_zeros;
      if (params.bias) {
        FoldValue s, z;
        MIXQ_RETURN_IF_ERROR(FoldValueFromProto(*FindInitializer(*g, dq.input(1)), "", &s));
        MIXQ_RETURN_IF_ERROR(s.ToFloats(what + " scale", &bias_scales));
        MIXQ_RETURN_IF_ERROR(FoldValueFromProto(*FindInitializer(*g, dq.input(2)), "", &z));
        MIXQ_RETURN_IF_ERROR(z.ToInt64s(what + " zero point", &bias_zeros));
      }
      std::vector<float> values;
      int64_t axis = AxisAttr(dq);
      if (axis < 0) axis += static_cast<int64_t>(q.dims.size());
      std::vector<int64_t> centered;
      MIXQ_RETURN_IF_ERROR(WithContext(Dequantize(q, params, bias_scales, bias_zeros, axis, &values, &centered), what));
      onnx::TensorProto t;
      t.set_name(dq.output(0));
      t.set_data_type(onnx::TensorProto::FLOAT);
      for (int64_t d : q.dims) t.add_dims(d);
      t.set_raw_data(values.data(), values.size() * sizeof(float));
      new_initializers.push_back(std::move(t));
      if (!params.bias) params_[dq.output(0)] = params.params;
      if (params.bias) {
        const bool zero = std::all_of(bias_zeros.begin(), bias_zeros.end(), [](int64_t z) { return z == 0; });
        if (zero && q.dims.size() == 1) {
          int32_bias_scales_[dq.output(0)] = bias_scales;
          bias_codes[dq.output(0)] = centered;
        }
      } else if (q.dims.size() == 4 && q.dims[0] > 0) {
        std::vector<int64_t>& sums = weight_row_sums[dq.output(0)];
        sums.assign(static_cast<size_t>(q.dims[0]), 0);
        const size_t row = centered.size() / sums.size();
        for (size_t e = 0; e < centered.size(); ++e) sums[e / row] += std::llabs(centered[e]);
      }
      removed.insert(i);
      continue;
    }
    auto it = producer.find(x);
    if (it == producer.end() || g->node(it->second).op_type() != "QuantizeLinear")
      return Unimplemented(what, ": its input '", x,
                           "' is neither an initializer nor a QuantizeLinear output (mixq imports Q -> DQ pairs "
                           "and quantized weights)");
    const onnx::NodeProto& q = g->node(it->second);
    Params qp, dp;
    MIXQ_RETURN_IF_ERROR(ReadParams(*g, q, -1, &qp));
    MIXQ_RETURN_IF_ERROR(ReadParams(*g, dq, -1, &dp));
    if (qp.params.scales != dp.params.scales || qp.params.zero_points != dp.params.zero_points)
      return Unimplemented(what, " dequantizes with other parameters than QuantizeLinear '", q.name(),
                           "' quantized with (requantization is not imported)");
    if (qp.params.axis >= 0)
      return Unimplemented("QuantizeLinear '", q.name(),
                           "' quantizes an activation per axis; mixq quantizes "
                           "activations per tensor");
    const std::string& source = q.input(0);
    if (auto existing = params_.find(source);
        existing != params_.end() &&
        (existing->second.scales != qp.params.scales || existing->second.zero_points != qp.params.zero_points))
      return Unimplemented("tensor '", source, "' is quantized with two different parameter sets");
    params_[source] = qp.params;
    // Quantizable readers take `source` (quantized with these parameters where
    // they read it); every other reader keeps the snap to the grid — a
    // FakeQuantize, marked for the DequantizeLinear rule.
    bool other_readers = graph_outputs.count(dq.output(0)) > 0;
    std::vector<std::pair<int, int>> quantizable;
    for (int k = 0; k < g->node_size(); ++k)
      for (int j = 0; j < g->node(k).input_size(); ++j)
        if (g->node(k).input(j) == dq.output(0)) {
          if (QuantizableReader(g->node(k), j))
            quantizable.emplace_back(k, j);
          else
            other_readers = true;
        }
    if (other_readers) {
      fake_quantize.push_back(i);
      // The FakeQuantize stays for the other readers. The quantizable ones
      // then read its output, quantized with the same parameters: the same
      // codes (a code's dequantized value quantizes back to it exactly while
      // every s * (q - z) is a normal float32), and `source` keeps a single
      // reader, so the step that writes it can fake-quantize as it writes
      // (runtime/fusion/fuse_fake_quantize.cc) instead of a separate pass.
      const float s = qp.params.scales[0];
      const bool exact_round_trip = s >= 0x1p-100f && s <= 0x1p100f;
      for (const auto& [k, j] : quantizable) bypass.emplace_back(k, j, exact_round_trip ? dq.output(0) : source);
      if (exact_round_trip && !quantizable.empty()) params_[dq.output(0)] = qp.params;
    } else {
      for (const auto& [k, j] : quantizable) bypass.emplace_back(k, j, source);
      removed.insert(i);
    }
  }
  KeepFloatExactInt32Biases(*g, bias_codes, weight_row_sums, &int32_bias_scales_);
  for (const auto& [k, j, source] : bypass) g->mutable_node(k)->set_input(j, source);
  for (int k : fake_quantize) {
    onnx::NodeProto* dq = g->mutable_node(k);
    const onnx::NodeProto& q = g->node(producer[dq->input(0)]);
    dq->set_input(0, q.input(0));
    onnx::AttributeProto* mark = dq->add_attribute();
    mark->set_name(kFakeQuantizeMark);
    mark->set_type(onnx::AttributeProto::INT);
    mark->set_i(1);
  }
  // QuantizeLinear nodes: each must now be unused (all its readers were DQs).
  std::set<std::string> still_read;
  for (int i = 0; i < g->node_size(); ++i)
    if (!removed.count(i))
      for (const auto& in : g->node(i).input()) still_read.insert(in);
  for (const auto& o : g->output()) still_read.insert(o.name());
  for (int i = 0; i < g->node_size(); ++i) {
    const onnx::NodeProto& q = g->node(i);
    if (q.op_type() != "QuantizeLinear") continue;
    if (still_read.count(q.output(0)))
      return Unimplemented("QuantizeLinear '", q.name(), "': its output '", q.output(0),
                           "' is used without DequantizeLinear (integer tensors are not imported)");
    removed.insert(i);
  }
  onnx::GraphProto rebuilt_nodes;
  for (int i = 0; i < g->node_size(); ++i)
    if (!removed.count(i)) *rebuilt_nodes.add_node() = g->node(i);
  g->mutable_node()->Swap(rebuilt_nodes.mutable_node());
  for (auto& t : new_initializers) *g->add_initializer() = std::move(t);
  // Quantized initializers nothing reads any more would be imported for nothing.
  std::set<std::string> read;
  for (const auto& n : g->node())
    for (const auto& in : n.input()) read.insert(in);
  for (const auto& o : g->output()) read.insert(o.name());
  auto* inits = g->mutable_initializer();
  for (int k = inits->size(); k-- > 0;)
    if (!read.count(inits->Get(k).name())) inits->DeleteSubrange(k, 1);
  return Status::OK();
}

bool QuantizableMixqInput(const std::string& op, int64_t index) {
  return (op == "Conv2D" || op == "ConvTranspose2D" || op == "MatMul" || op == "FullyConnected") && index < 2;
}

Status QdqImportPass::AfterMapping(Importer& importer) {
  std::map<const ITensor*, const QuantizationParameters*> by_tensor;
  for (const auto& [name, params] : params_) {
    ImportedValue* v = importer.Find(name);
    if (!v || !v->tensor) continue;  // folded away, or never used as a tensor
    MIXQ_RETURN_IF_ERROR(WithContext(v->tensor->SetQuantizationParameters(params), StrCat("QDQ tensor '", name, "'")));
    by_tensor[v->tensor] = &params;
  }
  for (INode* node : importer.network()->GetAllNodes()) {
    // Quantized when the model quantizes the data input (input 0): a Q / DQ
    // pair on the weights alone, the activation read in float, leaves the
    // operator in float with the weights dequantized exactly, as the model
    // computes it (a quantized operator needs both operands quantized).
    if (node->GetInputCount() < 1 || !by_tensor.count(node->GetInput(0))) continue;
    for (int64_t i = 0; i < node->GetInputCount(); ++i) {
      auto it = by_tensor.find(node->GetInput(i));
      if (it == by_tensor.end() || !QuantizableMixqInput(node->GetOpType(), i)) continue;
      MIXQ_RETURN_IF_ERROR(
          node->SetPrecision(static_cast<size_t>(i), it->second->bits == 8 ? DataType::QINT8 : DataType::QINT16));
    }
    MIXQ_RETURN_IF_ERROR(SetInt32Bias(importer, by_tensor, node));
  }
  return Status::OK();
}

Status QdqImportPass::SetInt32Bias(Importer& importer,
                                   const std::map<const ITensor*, const QuantizationParameters*>& by_tensor,
                                   INode* node) {
  const std::string op = node->GetOpType();
  if (op != "Conv2D" || node->GetInputCount() < 3) return Status::OK();
  auto x = by_tensor.find(node->GetInput(0));
  auto w = by_tensor.find(node->GetInput(1));
  if (x == by_tensor.end() || w == by_tensor.end() || !node->GetInput(2)) return Status::OK();
  for (const auto& [name, scales] : int32_bias_scales_) {
    ImportedValue* v = importer.Find(name);
    if (!v || v->tensor != node->GetInput(2)) continue;
    if (AccumulatorScales(scales, *x->second, *w->second)) return node->SetPrecision(2, DataType::INT32);
  }
  return Status::OK();
}

// DequantizeLinear, as the pass leaves it: a FakeQuantize of a float tensor.
Status MapDequantizeLinear(NodeContext& ctx) {
  int64_t marked = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt(kFakeQuantizeMark, 0, &marked));
  if (!marked)
    return Unimplemented(
        "a DequantizeLinear outside a QuantizeLinear -> DequantizeLinear pair or over something "
        "other than a quantized initializer");
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  std::vector<float> scales;
  MIXQ_RETURN_IF_ERROR(ctx.ConstFloats(1, "scale", &scales));
  std::vector<int64_t> zeros(scales.size(), 0);
  DataType zero_type = DataType::UINT8;
  if (ctx.HasInput(2)) {
    MIXQ_RETURN_IF_ERROR(ctx.ConstInts(2, "zero point", &zeros));
    zero_type = ctx.Constant(2)->dtype;
  }
  QuantizationParameters params;
  params.bits = zero_type == DataType::INT16 ? 16 : 8;
  params.scales = scales;
  const int64_t shift = zero_type == DataType::UINT8 ? 128 : 0;
  for (int64_t z : zeros) params.zero_points.push_back(static_cast<int32_t>(z - shift));
  if (scales.size() > 1) {
    int64_t axis = 1, rank = 0;
    MIXQ_RETURN_IF_ERROR(ctx.AttrInt("axis", 1, &axis));
    MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
    MIXQ_RETURN_IF_ERROR(NormalizeAxis(axis, rank, "attribute 'axis'", &params.axis));
  }
  IFakeQuantizeNode* node = ctx.network()->AddIFakeQuantizeNode(x, params);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

}  // namespace

void AddQdqRules(std::vector<Rule>* rules) {
  rules->push_back({"DequantizeLinear", MapDequantizeLinear, nullptr, "1,2", "FakeQuantize / QDQ precisions",
                    "Q -> DQ pairs and quantized initializers (int8, uint8, int16; per-axis weights); see "
                    "docs/precision.md"});
}

std::unique_ptr<ImportPass> CreateQdqImportPass() {
  return std::make_unique<QdqImportPass>();
}

}  // namespace mixq::onnx_import
