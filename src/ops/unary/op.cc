// Unary: pointwise math (sqrt, exp, log, abs, neg, erf, reciprocal) on
// FLOAT32; abs and neg also on INT32 / INT64.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_util.h"

namespace mixq::ops {

namespace {

// Float results are computed in double and narrowed once; on IEEE platforms
// exp of a large x narrows to +inf rather than undefined behaviour.
static_assert(std::numeric_limits<float>::is_iec559, "float must be IEEE binary32");

enum class UnOp { kSqrt, kExp, kLog, kAbs, kNeg, kErf, kReciprocal };

struct UnOpName {
  const char* name;
  UnOp op;
};
constexpr UnOpName kUnOpNames[] = {{"sqrt", UnOp::kSqrt},
                                   {"exp", UnOp::kExp},
                                   {"log", UnOp::kLog},
                                   {"abs", UnOp::kAbs},
                                   {"neg", UnOp::kNeg},
                                   {"erf", UnOp::kErf},
                                   {"reciprocal", UnOp::kReciprocal}};

Status ParseOp(const ir::AttrMap& attrs, UnOp* op) {
  const std::string name = attrs.Str("op");
  for (const auto& n : kUnOpNames)
    if (name == n.name) {
      *op = n.op;
      return Status::OK();
    }
  return InvalidArgument("attribute 'op': unknown unary op '", name,
                         "' (expected sqrt, exp, log, abs, neg, erf or reciprocal)");
}

Status CheckType(const ValueInfo& input, UnOp op) {
  if (input.dtype == DataType::FLOAT32) return Status::OK();
  const bool is_int = input.dtype == DataType::INT32 || input.dtype == DataType::INT64;
  if (is_int && (op == UnOp::kAbs || op == UnOp::kNeg)) return Status::OK();
  return InvalidArgument("input 'input' must be FLOAT32 (INT32 / INT64 only for abs and neg), got ",
                         DataTypeName(input.dtype));
}

Status InferUnary(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                  std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "input"));
  UnOp op;
  MIXQ_RETURN_IF_ERROR(ParseOp(attrs, &op));
  MIXQ_RETURN_IF_ERROR(CheckType(*inputs[0], op));
  outputs[0].dtype = inputs[0]->dtype;
  outputs[0].shape = inputs[0]->shape;
  return Status::OK();
}

double ApplyFloat(UnOp op, double x) {
  switch (op) {
    case UnOp::kSqrt:
      return std::sqrt(x);
    case UnOp::kExp:
      return std::exp(x);
    case UnOp::kLog:
      return std::log(x);
    case UnOp::kAbs:
      return std::fabs(x);
    case UnOp::kNeg:
      return -x;
    case UnOp::kErf:
      return std::erf(x);
    case UnOp::kReciprocal:
      return 1.0 / x;
  }
  return x;
}

// abs / neg of the most negative integer wrap to itself (two's complement, as
// numpy) instead of overflowing.
template <typename T>
T ApplyInt(UnOp op, T x) {
  using U = std::make_unsigned_t<T>;
  const T negated = static_cast<T>(U{0} - static_cast<U>(x));
  if (op == UnOp::kNeg) return negated;
  return x < 0 ? negated : x;
}

template <typename T>
FunctionKernel::Fn MakeLoop(UnOp op, int64_t count) {
  return [op, count](const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
    const T* x = in[0].Data<T>();
    T* y = out[0].Data<T>();
    for (int64_t i = 0; i < count; ++i) {
      if constexpr (std::is_floating_point_v<T>)
        y[i] = static_cast<T>(ApplyFloat(op, x[i]));
      else
        y[i] = ApplyInt<T>(op, x[i]);
    }
    return Status::OK();
  };
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  UnOp op;
  MIXQ_RETURN_IF_ERROR(ParseOp(init.attrs, &op));
  MIXQ_RETURN_IF_ERROR(CheckType(*init.inputs[0], op));
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  switch (init.inputs[0]->dtype) {
    case DataType::INT32:
      return MakeFunctionKernel(MakeLoop<int32_t>(op, count), kernel);
    case DataType::INT64:
      return MakeFunctionKernel(MakeLoop<int64_t>(op, count), kernel);
    default:
      return MakeFunctionKernel(MakeLoop<float>(op, count), kernel);
  }
}

}  // namespace

const OpSchema& UnarySchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kUnary;
    s.name = "Unary";
    s.summary = "Pointwise math: sqrt, exp, log, abs, neg, erf, reciprocal.";
    s.input_names = {"input"};
    s.attrs = {
        {"op", std::string("sqrt"),
         "sqrt, exp, log, abs, neg, erf or reciprocal; FLOAT32 (abs and neg also INT32 / INT64)"},
    };
    s.infer = InferUnary;
    s.reference = MakeReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
