// Activation: the pointwise nonlinearities of IActivationNode, selected by the
// "type" attribute (relu, clip, sigmoid, gelu, ...).
#include <cmath>
#include <limits>
#include <numbers>

#include "ops/activation/cpu.h"
#include "ops/activation/lut_function.h"
#include "ops/clamp.h"
#include "ops/op_util.h"
#include "ops/quantized_reference.h"

namespace mixq::ops {

namespace {

// Results are computed in double and narrowed once; on IEEE platforms a value
// beyond float range becomes +-inf rather than undefined behaviour.
static_assert(std::numeric_limits<float>::is_iec559, "float must be IEEE binary32");

enum class ActKind {
  kRelu,
  kRelu6,
  kClip,
  kLeakyRelu,
  kSigmoid,
  kTanh,
  kHardSigmoid,
  kHardSwish,
  kSilu,
  kGeluErf,
  kGeluTanh
};

struct ActName {
  const char* name;
  ActKind kind;
};
constexpr ActName kActNames[] = {
    {"relu", ActKind::kRelu},
    {"relu6", ActKind::kRelu6},
    {"clip", ActKind::kClip},
    {"leaky_relu", ActKind::kLeakyRelu},
    {"sigmoid", ActKind::kSigmoid},
    {"tanh", ActKind::kTanh},
    {"hard_sigmoid", ActKind::kHardSigmoid},
    {"hard_swish", ActKind::kHardSwish},
    {"silu", ActKind::kSilu},
    {"gelu_erf", ActKind::kGeluErf},
    {"gelu_tanh", ActKind::kGeluTanh},
};

struct ActParams {
  ActKind kind = ActKind::kRelu;
  double alpha = 0.0;
  double beta = 0.0;
  int64_t count = 0;
};

// Fills the kind and resolves NaN ("unset") alpha / beta to the type's defaults.
Status ReadParams(const ir::AttrMap& attrs, ActParams* p) {
  const std::string type = attrs.Str("type");
  bool found = false;
  for (const auto& n : kActNames)
    if (type == n.name) {
      p->kind = n.kind;
      found = true;
    }
  if (!found) {
    std::string names;
    for (const auto& n : kActNames) names += std::string(names.empty() ? "" : ", ") + n.name;
    return InvalidArgument("attribute 'type': unknown activation '", type, "' (expected one of ", names, ")");
  }
  const float alpha = attrs.Float("alpha", std::numeric_limits<float>::quiet_NaN());
  const float beta = attrs.Float("beta", std::numeric_limits<float>::quiet_NaN());
  double default_alpha = 0.0, default_beta = 0.0;
  switch (p->kind) {
    case ActKind::kLeakyRelu:
      default_alpha = 0.01;
      break;
    case ActKind::kClip:
      default_alpha = -std::numeric_limits<double>::infinity();
      default_beta = std::numeric_limits<double>::infinity();
      break;
    case ActKind::kHardSigmoid:
      default_alpha = 0.2;
      default_beta = 0.5;
      break;
    default:
      break;
  }
  // Defaults are taken as the float the user would have written (0.2f, not 0.2),
  // so leaving them unset and setting them explicitly give identical results.
  p->alpha = std::isnan(alpha) ? static_cast<float>(default_alpha) : alpha;
  p->beta = std::isnan(beta) ? static_cast<float>(default_beta) : beta;
  return Status::OK();
}

Status InferActivation(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                       std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  MIXQ_RETURN_IF_ERROR(ExpectFloat(*inputs[0], "input"));
  ActParams p;
  MIXQ_RETURN_IF_ERROR(ReadParams(attrs, &p));
  outputs[0].dtype = DataType::FLOAT32;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

double Sigmoid(double x) {
  // Two branches so exp never overflows for large |x|.
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// The clamps (relu, relu6, clip) map NaN to their lower bound (ops/clamp.h);
// the other comparisons are written so that a NaN input falls through to the
// NaN result.
double Apply(const ActParams& p, double x) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (p.kind) {
    case ActKind::kRelu:
      return ClampActivation(x, 0.0, kInf);
    case ActKind::kRelu6:
      return ClampActivation(x, 0.0, 6.0);
    case ActKind::kClip:
      return ClampActivation(x, p.alpha, p.beta);
    case ActKind::kLeakyRelu:
      return x < 0 ? p.alpha * x : x;
    case ActKind::kSigmoid:
      return Sigmoid(x);
    case ActKind::kTanh:
      return std::tanh(x);
    case ActKind::kHardSigmoid: {
      const double v = p.alpha * x + p.beta;
      return v < 0 ? 0.0 : v > 1 ? 1.0 : v;
    }
    case ActKind::kHardSwish: {
      const double v = x / 6.0 + 0.5;
      return x * (v < 0 ? 0.0 : v > 1 ? 1.0 : v);
    }
    case ActKind::kSilu:
      return x * Sigmoid(x);
    case ActKind::kGeluErf:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case ActKind::kGeluTanh: {
      const double k = std::sqrt(2.0 / std::numbers::pi);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
  }
  return x;
}

// relu / relu6 / clip on quantized integers: a clamp to the quantized bounds
// (exact: they commute with the monotonic quantization of SPEC §1).
template <typename T>
Status MakeIntegerReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  PostOp op;
  const ir::QuantBinding& q = *init.inputs[0]->quant;
  int32_t lo = 0, hi = 0;
  if (!ActivationPostOp(init.attrs, &op) || q.scales.size() != 1 ||
      !IntegerActivationBounds(op, q.scales[0], q.zero_points[0], q.bits, &lo, &hi))
    return Unimplemented("activation '", init.attrs.Str("type"), "' on quantized integers");
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  return MakeFunctionKernel(
      [lo, hi, count](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const T* x = in[0].Data<const T>();
        T* y = out[0].Data<T>();
        for (int64_t i = 0; i < count; ++i) y[i] = static_cast<T>(std::clamp<int32_t>(x[i], lo, hi));
        return Status::OK();
      },
      kernel);
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (IsIntegerStorage(*init.inputs[0]))
    return init.inputs[0]->dtype == DataType::INT8 ? MakeIntegerReference<int8_t>(init, kernel)
                                                   : MakeIntegerReference<int16_t>(init, kernel);
  ActParams p;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, &p));
  p.count = ir::ElementCount(init.inputs[0]->shape);
  return MakeFunctionKernel(
      [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
        const float* x = in[0].Data<float>();
        float* y = out[0].Data<float>();
        for (int64_t i = 0; i < p.count; ++i) y[i] = static_cast<float>(Apply(p, x[i]));
        return Status::OK();
      },
      kernel);
}

Status MakeChainReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  LutOp op;
  MIXQ_RETURN_IF_ERROR(ActivationLutOp(init, &op));
  return MakeInt8LutReference(std::move(op), init, kernel);
}

}  // namespace

bool ActivationChainInput(const ir::Graph&, const ir::Node& node, size_t input) {
  ActParams p;
  if (input != 0 || !ReadParams(node.attrs, &p).ok()) return false;
  return p.kind != ActKind::kRelu && p.kind != ActKind::kRelu6 && p.kind != ActKind::kClip;
}

Status ActivationLutOp(const KernelInit& init, LutOp* op) {
  ActParams p;
  MIXQ_RETURN_IF_ERROR(ReadParams(init.attrs, &p));
  op->f = [p](float x) { return static_cast<float>(Apply(p, x)); };
  op->data_input = 0;
  return Status::OK();
}

const OpSchema& ActivationSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kActivation;
    s.name = "Activation";
    s.summary = "Pointwise activation function (relu, clip, sigmoid, gelu, ...), chosen by 'type'.";
    s.input_names = {"input"};
    const float unset = std::numeric_limits<float>::quiet_NaN();
    s.attrs = {
        {"type", std::string("relu"),
         "relu, relu6, clip, leaky_relu, sigmoid, tanh, hard_sigmoid, hard_swish, silu, gelu_erf or gelu_tanh"},
        {"alpha", unset,
         "leaky_relu slope (0.01), clip lower bound (-inf), hard_sigmoid slope (0.2); NaN = the default"},
        {"beta", unset, "clip upper bound (+inf), hard_sigmoid offset (0.5); NaN = the default"},
    };
    s.infer = InferActivation;
    s.reference = MakeReference;
    s.quant.chain_input = ActivationChainInput;
    s.quant.chain_reference = MakeChainReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
