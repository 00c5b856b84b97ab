// Elementwise: binary arithmetic (add, sub, mul, div, pow, max, min) with
// numpy broadcasting, on FLOAT32 and (except pow) INT32 / INT64.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/elementwise/cpu.h"
#include "ops/elementwise/lut_function.h"
#include "ops/op_util.h"
#include "quant/quant_math.h"

namespace mixq::ops {

namespace {

enum class BinOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin };

struct BinOpName {
  const char* name;
  BinOp op;
};
constexpr BinOpName kBinOpNames[] = {{"add", BinOp::kAdd}, {"sub", BinOp::kSub}, {"mul", BinOp::kMul},
                                     {"div", BinOp::kDiv}, {"pow", BinOp::kPow}, {"max", BinOp::kMax},
                                     {"min", BinOp::kMin}};

Status ParseOp(const ir::AttrMap& attrs, BinOp* op) {
  const std::string name = attrs.Str("op");
  for (const auto& n : kBinOpNames)
    if (name == n.name) {
      *op = n.op;
      return Status::OK();
    }
  return InvalidArgument("attribute 'op': unknown elementwise op '", name,
                         "' (expected add, sub, mul, div, pow, max or min)");
}

// Checks dtypes and the op / dtype combination; the output dtype is the inputs'.
Status CheckTypes(const ValueInfo& a, const ValueInfo& b, BinOp op) {
  if (a.dtype != b.dtype)
    return InvalidArgument("inputs 'a' (", DataTypeName(a.dtype), ") and 'b' (", DataTypeName(b.dtype),
                           ") must have the same dtype");
  const bool is_int = a.dtype == DataType::INT32 || a.dtype == DataType::INT64;
  if (a.dtype != DataType::FLOAT32 && !is_int)
    return InvalidArgument("input 'a' must be FLOAT32, INT32 or INT64, got ", DataTypeName(a.dtype));
  if (is_int && op == BinOp::kPow)
    return InvalidArgument("attribute 'op': pow needs FLOAT32 inputs, got ", DataTypeName(a.dtype));
  return Status::OK();
}

Status InferElementwise(const ir::AttrMap& attrs, const std::vector<const ValueInfo*>& inputs,
                        std::vector<ValueInfo>& outputs) {
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 0, "a"));
  MIXQ_RETURN_IF_ERROR(RequireInput(inputs, 1, "b"));
  BinOp op;
  MIXQ_RETURN_IF_ERROR(ParseOp(attrs, &op));
  MIXQ_RETURN_IF_ERROR(CheckTypes(*inputs[0], *inputs[1], op));
  outputs[0].dtype = inputs[0]->dtype;
  return BroadcastShapes(inputs[0]->shape, inputs[1]->shape, &outputs[0].shape);
}

// Everything the kernel needs: the output shape and, per output axis, the
// step in each input (0 along a broadcast axis).
struct BroadcastParams {
  BinOp op = BinOp::kAdd;
  ir::Shape out_shape;
  std::vector<int64_t> a_strides, b_strides;
  int64_t count = 0;
};

std::vector<int64_t> BroadcastStrides(const ir::Shape& in, const ir::Shape& out) {
  const size_t lead = out.size() - in.size();
  const std::vector<int64_t> dense = ir::Strides(in);
  std::vector<int64_t> strides(out.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) strides[lead + i] = in[i] == 1 ? 0 : dense[i];
  return strides;
}

template <typename T>
T Compute(BinOp op, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinOp::kAdd:
        return a + b;
      case BinOp::kSub:
        return a - b;
      case BinOp::kMul:
        return a * b;
      case BinOp::kDiv:
        return a / b;
      // A square is a * a, the correctly rounded result (numpy's too);
      // powf may round a halfway square the other way.
      case BinOp::kPow:
        return b == T(2) ? a * a : std::pow(a, b);
      // NaN in either operand gives NaN (numpy maximum / minimum).
      case BinOp::kMax:
        return (a > b || a != a) ? a : b;
      case BinOp::kMin:
        return (a < b || a != a) ? a : b;
    }
    return a;
  } else {
    // Integer add / sub / mul wrap in two's complement (as numpy and ONNX
    // Runtime do) instead of being undefined behaviour on overflow.
    using U = std::make_unsigned_t<T>;
    switch (op) {
      case BinOp::kAdd:
        return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case BinOp::kSub:
        return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case BinOp::kMul:
        return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      case BinOp::kDiv:
        // The caller rejects b == 0. min / -1 overflows; it wraps to min.
        if (b == -1) return static_cast<T>(U{0} - static_cast<U>(a));
        return a / b;  // C division truncates toward zero
      case BinOp::kPow:
        return a;  // rejected at inference
      case BinOp::kMax:
        return a > b ? a : b;
      case BinOp::kMin:
        return a < b ? a : b;
    }
    return a;
  }
}

template <typename T>
FunctionKernel::Fn MakeLoop(const BroadcastParams& p) {
  return [p](const std::vector<TensorView>& in, const std::vector<TensorView>& out) -> Status {
    const T* a = in[0].Data<T>();
    const T* b = in[1].Data<T>();
    T* y = out[0].Data<T>();
    const size_t rank = p.out_shape.size();
    std::vector<int64_t> index(rank, 0);  // odometer over the output
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < p.count; ++i) {
      if constexpr (std::is_integral_v<T>) {
        if (p.op == BinOp::kDiv && b[ib] == 0)
          return InvalidArgument("integer division by zero: input 'b' holds 0 at flat index ", ib);
      }
      y[i] = Compute<T>(p.op, a[ia], b[ib]);
      for (size_t axis = rank; axis-- > 0;) {
        ia += p.a_strides[axis];
        ib += p.b_strides[axis];
        if (++index[axis] < p.out_shape[axis]) break;
        ia -= p.a_strides[axis] * index[axis];
        ib -= p.b_strides[axis] * index[axis];
        index[axis] = 0;
      }
    }
    return Status::OK();
  };
}

Status MakeReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  const ValueInfo& a = *init.inputs[0];
  const ValueInfo& b = *init.inputs[1];
  BroadcastParams p;
  MIXQ_RETURN_IF_ERROR(ParseOp(init.attrs, &p.op));
  MIXQ_RETURN_IF_ERROR(CheckTypes(a, b, p.op));
  if (!ir::IsStatic(a.shape) || !ir::IsStatic(b.shape))
    return InvalidArgument("inputs 'a' ", ir::ShapeString(a.shape), " and 'b' ", ir::ShapeString(b.shape),
                           " must have concrete shapes when the kernel is prepared");
  // Inference let a dynamic dim match anything; with real dims this can fail.
  MIXQ_RETURN_IF_ERROR(BroadcastShapes(a.shape, b.shape, &p.out_shape));
  p.a_strides = BroadcastStrides(a.shape, p.out_shape);
  p.b_strides = BroadcastStrides(b.shape, p.out_shape);
  p.count = ir::ElementCount(p.out_shape);
  switch (a.dtype) {
    case DataType::INT32:
      return MakeFunctionKernel(MakeLoop<int32_t>(p), kernel);
    case DataType::INT64:
      return MakeFunctionKernel(MakeLoop<int64_t>(p), kernel);
    default:
      return MakeFunctionKernel(MakeLoop<float>(p), kernel);
  }
}

bool ScalarChainOp(BinOp op) {
  return op == BinOp::kAdd || op == BinOp::kSub || op == BinOp::kMul || op == BinOp::kDiv;
}

// The int8 add of two tensors (lut_function.h), element by element over the
// broadcast output.
Status MakeInt8AddReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (!Int8AddStep(init)) return Internal("the int8 add reference does not take this step");
  BroadcastParams p;
  p.op = BinOp::kAdd;
  MIXQ_RETURN_IF_ERROR(BroadcastShapes(init.inputs[0]->shape, init.inputs[1]->shape, &p.out_shape));
  p.a_strides = BroadcastStrides(init.inputs[0]->shape, p.out_shape);
  p.b_strides = BroadcastStrides(init.inputs[1]->shape, p.out_shape);
  p.count = ir::ElementCount(p.out_shape);
  const Int8Params a = ParamsOf(*init.inputs[0]), b = ParamsOf(*init.inputs[1]);
  const bool int_out = init.outputs[0].dtype == DataType::INT8;
  const Int8Params out = ParamsOf(init.outputs[0]);
  return MakeFunctionKernel(
      [p, a, b, out, int_out](const std::vector<TensorView>& in, const std::vector<TensorView>& outs) {
        const int8_t* x = in[0].Data<const int8_t>();
        const int8_t* z = in[1].Data<const int8_t>();
        const size_t rank = p.out_shape.size();
        std::vector<int64_t> index(rank, 0);
        int64_t ia = 0, ib = 0;
        for (int64_t i = 0; i < p.count; ++i) {
          const float y = Compute<float>(BinOp::kAdd, quant::Dequantize(x[ia], a.scale, a.zero_point),
                                         quant::Dequantize(z[ib], b.scale, b.zero_point));
          if (int_out)
            outs[0].Data<int8_t>()[i] = static_cast<int8_t>(quant::Quantize(y, out.scale, out.zero_point, 8));
          else
            outs[0].Data<float>()[i] = y;
          for (size_t axis = rank; axis-- > 0;) {
            ia += p.a_strides[axis];
            ib += p.b_strides[axis];
            if (++index[axis] < p.out_shape[axis]) break;
            ia -= p.a_strides[axis] * index[axis];
            ib -= p.b_strides[axis] * index[axis];
            index[axis] = 0;
          }
        }
        return Status::OK();
      },
      kernel, "reference-quantized");
}

Status MakeChainReference(const KernelInit& init, std::unique_ptr<Kernel>* kernel) {
  if (init.inputs.size() == 2 && init.inputs[0] && init.inputs[1] && !init.inputs[0]->const_data &&
      !init.inputs[1]->const_data)
    return MakeInt8AddReference(init, kernel);
  LutOp op;
  MIXQ_RETURN_IF_ERROR(ElementwiseLutOp(init, &op));
  return MakeInt8LutReference(std::move(op), init, kernel);
}

}  // namespace

bool ElementwiseChainInput(const ir::Graph& graph, const ir::Node& node, size_t input) {
  BinOp op;
  if (node.inputs.size() != 2 || input > 1 || !ParseOp(node.attrs, &op).ok() || !ScalarChainOp(op)) return false;
  const int data = node.inputs[input], other = node.inputs[1 - input];
  if (data < 0 || other < 0) return false;
  const ir::Value& x = *graph.value(data);
  const ir::Value& c = *graph.value(other);
  const bool x_constant = x.producer >= 0 && graph.node(x.producer)->op == OpKind::kConstant;
  const bool c_constant = c.producer >= 0 && graph.node(c.producer)->op == OpKind::kConstant;
  if (op == BinOp::kAdd && !x_constant && !c_constant)  // a rescaling add of two tensors
    return x.dtype == DataType::FLOAT32 && c.dtype == DataType::FLOAT32;
  return !x_constant && c_constant && x.dtype == DataType::FLOAT32 && c.dtype == DataType::FLOAT32 &&
         ir::ElementCount(c.shape) == 1 && c.shape.size() <= x.shape.size();
}

bool Int8AddStep(const KernelInit& init) {
  BinOp bin;
  if (!ParseOp(init.attrs, &bin).ok() || bin != BinOp::kAdd || init.inputs.size() != 2 || !init.inputs[0] ||
      !init.inputs[1] || !RescaleStepSupported(init))
    return false;
  ir::Shape out;
  return BroadcastShapes(init.inputs[0]->shape, init.inputs[1]->shape, &out).ok() && out == init.outputs[0].shape;
}

Status ElementwiseLutOp(const KernelInit& init, LutOp* op) {
  BinOp bin;
  MIXQ_RETURN_IF_ERROR(ParseOp(init.attrs, &bin));
  if (!ScalarChainOp(bin) || init.inputs.size() != 2 || !init.inputs[0] || !init.inputs[1])
    return InvalidArgument("no lookup table for this elementwise step");
  const size_t data = init.inputs[0]->const_data ? 1 : 0;
  const ValueInfo& c = *init.inputs[1 - data];
  if (!c.const_data || c.dtype != DataType::FLOAT32 || ir::ElementCount(c.shape) != 1)
    return InvalidArgument("no lookup table for this elementwise step: the other input is not a scalar constant");
  const float value = *static_cast<const float*>(c.const_data);
  if (data == 0)
    op->f = [bin, value](float x) { return Compute<float>(bin, x, value); };
  else
    op->f = [bin, value](float x) { return Compute<float>(bin, value, x); };
  op->data_input = data;
  return Status::OK();
}

const OpSchema& ElementwiseSchema() {
  static const OpSchema schema = [] {
    OpSchema s;
    s.kind = OpKind::kElementwise;
    s.name = "Elementwise";
    s.summary = "Binary arithmetic with numpy broadcasting: add, sub, mul, div, pow, max, min.";
    s.input_names = {"a", "b"};
    s.min_inputs = 2;
    s.attrs = {
        {"op", std::string("add"),
         "add, sub, mul, div, pow, max or min; integer div truncates toward zero, pow is FLOAT32 only (an exponent "
         "of exactly 2 gives the correctly rounded square, a * a, as numpy does)"},
    };
    s.infer = InferElementwise;
    s.reference = MakeReference;
    s.quant.chain_input = ElementwiseChainInput;
    s.quant.chain_reference = MakeChainReference;
    return s;
  }();
  return schema;
}

}  // namespace mixq::ops
