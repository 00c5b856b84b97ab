#include "passes/int32_bias.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/status_util.h"

namespace mixq::passes {

namespace {

const ir::QuantBinding* StaticBinding(const ir::Node& node, int input) {
  if (input < 0 || static_cast<size_t>(input) >= node.input_quant.size()) return nullptr;
  const auto& b = node.input_quant[static_cast<size_t>(input)];
  return b && !b->dynamic && !b->scales.empty() ? &*b : nullptr;
}

// Fills `binding` and returns "" or says why an INT32 bias is impossible.
std::string MakeBiasBinding(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema,
                            ir::QuantBinding* binding) {
  if (static_cast<int>(input) != schema.quant.bias_input)
    return StrCat(schema.name, " input ", input, " is not a bias");
  const ir::Value& v = *graph.value(node.inputs[input]);
  if (v.producer < 0 || graph.node(v.producer)->op != OpKind::kConstant || v.dtype != DataType::FLOAT32)
    return "the bias is not a float32 constant";
  if (v.shape.size() != 1) return StrCat("the bias has shape ", ir::ShapeString(v.shape), "; it must be 1-D");
  const ir::QuantBinding* x = StaticBinding(node, 0);
  const ir::QuantBinding* w = StaticBinding(node, schema.quant.weight_input);
  if (!x || !w)
    return "the data input and the weights must both be quantized with static ranges (the accumulator scale "
           "s_x * s_w is then known at build time)";
  // Gemm's C broadcasts along N: one value must not stand for several scales.
  const int64_t channels = w->axis >= 0 ? static_cast<int64_t>(w->scales.size()) : 1;
  const int64_t count = v.shape[0];
  if (count == 1 && channels > 1)
    return StrCat("the bias has 1 value but the weights have ", channels, " per-channel scales");
  if (count % channels != 0)
    return StrCat("the bias has ", count, " values, not a multiple of the ", channels, " weight scales");
  binding->bits = 32;
  binding->symmetric = true;
  binding->dynamic = false;
  binding->axis = count > 1 ? 0 : -1;
  binding->scales.resize(static_cast<size_t>(count));
  binding->zero_points.assign(static_cast<size_t>(count), 0);
  const bool gemm = schema.quant.gemm_alpha_beta;
  const double alpha = gemm ? node.attrs.Float("alpha", 1.0f) : 1.0;
  const double beta = gemm ? node.attrs.Float("beta", 1.0f) : 1.0;
  if (alpha == 0.0) return "alpha is 0";
  const float* bias = static_cast<const float*>(graph.node(v.producer)->constant->data());
  for (int64_t c = 0; c < count; ++c) {
    // Channel c of every group shares weight scale c % n (ConvTranspose).
    const double sw = w->scales[static_cast<size_t>(c) % w->scales.size()];
    const float scale = static_cast<float>(static_cast<double>(x->scales[0]) * sw);
    if (!(scale > 0.0f)) return StrCat("the accumulator scale s_x * s_w of channel ", c, " underflows float");
    binding->scales[static_cast<size_t>(c)] = scale;
    // QINT16 accumulators have tiny scales: a bias of ordinary size may need
    // more than 32 bits. Saturating it would silently change the model.
    const double q = beta * bias[c] / (alpha * scale);
    if (!(std::fabs(q) < 2147483647.0))
      return StrCat("bias value ", bias[c], " of channel ", c, " is ", q,
                    " accumulator steps (scale s_x * s_w = ", scale, "), beyond int32");
  }
  return "";
}

}  // namespace

std::string Int32BiasObstacle(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema) {
  ir::QuantBinding binding;
  return MakeBiasBinding(graph, node, input, schema, &binding);
}

Status BindInt32Bias(const ir::Graph& graph, const ir::Node& node, size_t input, const ops::OpSchema& schema,
                     const std::string& where, ir::QuantBinding* binding) {
  const std::string obstacle = MakeBiasBinding(graph, node, input, schema, binding);
  if (!obstacle.empty())
    return InvalidArgument(where, " cannot be consumed in INT32: ", obstacle, "; keep this bias in float");
  return Status::OK();
}

void QuantizeInt32Bias(const float* bias, const ir::QuantBinding& binding, float alpha, float beta, int64_t count,
                       int32_t* out) {
  constexpr double kLow = std::numeric_limits<int32_t>::min();
  constexpr double kHigh = std::numeric_limits<int32_t>::max();
  for (int64_t c = 0; c < count; ++c) {
    const double scale = static_cast<double>(alpha) * binding.scales[static_cast<size_t>(c) % binding.scales.size()];
    const double q = std::nearbyint(static_cast<double>(beta) * bias[c] / scale);  // ties to even (default mode)
    out[c] = static_cast<int32_t>(std::clamp(std::isnan(q) ? 0.0 : q, kLow, kHigh));
  }
}

}  // namespace mixq::passes
