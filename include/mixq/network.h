// Building a network through the API: tensors, nodes and the network that owns them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mixq/types.h"

namespace mixq {

class INode;

// Memory layouts. Activations: NCHW / NHWC. Convolution filters: OIHW
// (out, in/group, kh, kw), OHWI (out, kh, kw, in/group), HWCN (kh, kw, in/group, out).
enum class Layout : int32_t { NCHW = 0, NHWC = 1, OIHW = 2, OHWI = 3, HWCN = 4 };
const char* LayoutName(Layout layout);

// EXPLICIT uses the pads given by SetPad; SAME (= SAME_UPPER) and SAME_LOWER pad
// so that output = ceil(input / stride), the odd pixel going to the end
// (UPPER) or the start (LOWER); VALID pads nothing.
enum class PaddingMode : int32_t { EXPLICIT = 0, SAME = 1, SAME_UPPER = 1, SAME_LOWER = 2, VALID = 3 };

enum class ActivationType : int32_t {
  RELU,
  RELU6,         // min(max(x, 0), 6)
  CLIP,          // min(max(x, alpha), beta)
  LEAKY_RELU,    // x < 0 ? alpha * x : x            (alpha default 0.01)
  SIGMOID,
  TANH,
  HARD_SIGMOID,  // max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5)
  HARD_SWISH,    // x * max(0, min(1, x / 6 + 0.5))
  SILU,          // x * sigmoid(x)
  GELU_ERF,      // 0.5 x (1 + erf(x / sqrt 2))
  GELU_TANH,     // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
};

enum class ElementwiseOp : int32_t { ADD, SUB, MUL, DIV, POW, MAX, MIN };
enum class UnaryOp : int32_t { SQRT, EXP, LOG, ABS, NEG, ERF, RECIPROCAL };
enum class ReduceOp : int32_t { MEAN, SUM, MAX, MIN };
enum class PadMode : int32_t { CONSTANT, REFLECT, EDGE };
enum class ResizeMode : int32_t { NEAREST, LINEAR };

// A value flowing through the network: a network input, a constant or a node output.
// Owned by its network.
class ITensor {
 public:
  virtual ~ITensor() = default;
  // Dims as far as known before running (-1 where only known at run time).
  virtual Dims GetDimension() const = 0;
  // Only for network inputs: the declared dims.
  virtual Status SetDimension(const Dims& dims) = 0;
  virtual DataType GetDataType() const = 0;
  // Only for network inputs; node outputs use INode::SetOutputType.
  virtual Status SetDataType(DataType type) = 0;
  virtual std::string GetTensorName() const = 0;
  // Names are unique within a network.
  virtual Status SetTensorName(const std::string& name) = 0;
  // The range this tensor is quantized with. `force`: true makes the hand-set
  // range win over one from calibration; false lets calibration overwrite it.
  virtual Status SetDynamicRange(const Range& range, bool force = true) = 0;
  // One range per slice along `axis` (the output-channel axis for weights).
  virtual Status SetDynamicRangePerAxis(const std::vector<Range>& ranges, bool force = true) = 0;
  virtual bool HasDynamicRange() const = 0;
  virtual Range GetDynamicRange() const = 0;
  virtual std::vector<Range> GetDynamicRangePerAxis() const = 0;
  // Exact scales and zero points (from a QAT model) for where this tensor is
  // consumed quantized; they win over calibration and custom_ranges, but not
  // over a range forced with SetDynamicRange. Bits must match the precision
  // the tensor is consumed in (checked at build).
  virtual Status SetQuantizationParameters(const QuantizationParameters& params) = 0;
  // False when none were set.
  virtual bool GetQuantizationParameters(QuantizationParameters* params) const = 0;
  // The node producing this tensor; null for a network input.
  virtual INode* GetProducer() const = 0;
};

// An operator instance. Owned by its network.
class INode {
 public:
  virtual ~INode() = default;
  // Operator kind as listed in the op table ("Conv2D", "MaxPool2D", ...).
  virtual std::string GetOpType() const = 0;
  virtual std::string GetNodeName() const = 0;
  virtual Status SetNodeName(const std::string& name) = 0;
  virtual int64_t GetInputCount() const = 0;
  virtual int64_t GetOutputCount() const = 0;
  // Null (not a crash) for an index out of range; inputs that were omitted are null too.
  virtual ITensor* GetInput(int64_t index) const = 0;
  virtual ITensor* GetOutput(int64_t index) const = 0;
  // The precision input `index` is consumed in; overrides the network-level mode.
  virtual Status SetPrecision(size_t index, DataType precision) = 0;
  // The data type output `index` is produced in; overrides the network-level mode.
  virtual Status SetOutputType(size_t index, DataType type) = 0;
  // What the user set, or false if nothing was set for that index.
  virtual bool GetPrecision(size_t index, DataType* precision) const = 0;
  virtual bool GetOutputType(size_t index, DataType* type) const = 0;

  // Generic attribute access; the names and types per operator are listed in
  // docs/operators.md. The typed setters of each node interface call these.
  virtual Status SetAttr(const std::string& name, int64_t value) = 0;
  virtual Status SetAttr(const std::string& name, float value) = 0;
  virtual Status SetAttr(const std::string& name, const std::string& value) = 0;
  virtual Status SetAttr(const std::string& name, const std::vector<int64_t>& value) = 0;
  virtual Status SetAttr(const std::string& name, const std::vector<float>& value) = 0;
  Status SetAttr(const std::string& name, int value) { return SetAttr(name, static_cast<int64_t>(value)); }
  Status SetAttr(const std::string& name, double value) { return SetAttr(name, static_cast<float>(value)); }
  Status SetAttr(const std::string& name, const char* value) { return SetAttr(name, std::string(value)); }
  Status SetAttr(const std::string& name, bool value) { return SetAttr(name, static_cast<int64_t>(value)); }
};

// Every node interface below adds typed setters over SetAttr.

class IConstNode : public INode {};

class IConvNode : public INode {
 public:
  Status SetStride(int64_t h, int64_t w) { return SetAttr("strides", std::vector<int64_t>{h, w}); }
  Status SetPad(int64_t top, int64_t bottom, int64_t left, int64_t right) {
    return SetAttr("pads", std::vector<int64_t>{top, bottom, left, right});
  }
  Status SetDilation(int64_t h, int64_t w) { return SetAttr("dilations", std::vector<int64_t>{h, w}); }
  Status SetGroup(int64_t group) { return SetAttr("group", group); }
  Status SetPaddingMode(PaddingMode mode);
  Status SetLayout(Layout input, Layout filter, Layout output);
};

class IConvTranspose2DNode : public IConvNode {
 public:
  Status SetOutputPadding(int64_t h, int64_t w) {
    return SetAttr("output_padding", std::vector<int64_t>{h, w});
  }
};

class IPool2DNode : public INode {
 public:
  Status SetKernel(int64_t h, int64_t w) { return SetAttr("kernel", std::vector<int64_t>{h, w}); }
  Status SetStride(int64_t h, int64_t w) { return SetAttr("strides", std::vector<int64_t>{h, w}); }
  Status SetPad(int64_t top, int64_t bottom, int64_t left, int64_t right) {
    return SetAttr("pads", std::vector<int64_t>{top, bottom, left, right});
  }
  Status SetCeilMode(bool ceil_mode) { return SetAttr("ceil_mode", ceil_mode); }
  Status SetPaddingMode(PaddingMode mode);
  Status SetLayout(Layout layout);
};

class IMaxPool2DNode : public IPool2DNode {
 public:
  Status SetDilation(int64_t h, int64_t w) { return SetAttr("dilations", std::vector<int64_t>{h, w}); }
};

class IAvgPool2DNode : public IPool2DNode {
 public:
  Status SetCountIncludePad(bool include) { return SetAttr("count_include_pad", include); }
};

class IGlobalAvgPoolNode : public INode {
 public:
  Status SetLayout(Layout layout);
};

class IBatchNormNode : public INode {
 public:
  Status SetEpsilon(float epsilon) { return SetAttr("epsilon", epsilon); }
  // The channel axis; default -1 (last, as in NHWC).
  Status SetAxis(int64_t axis) { return SetAttr("axis", axis); }
};

class IActivationNode : public INode {
 public:
  Status SetAlpha(float alpha) { return SetAttr("alpha", alpha); }
  Status SetBeta(float beta) { return SetAttr("beta", beta); }
};

class IElementwiseNode : public INode {};
class IUnaryNode : public INode {};

class IMatMulNode : public INode {
 public:
  Status SetTransposeA(bool t) { return SetAttr("transpose_a", t); }
  Status SetTransposeB(bool t) { return SetAttr("transpose_b", t); }
};

// Gemm semantics: Y = alpha * op(A) * op(B) + beta * C. By default B is the
// weight in [out_features, in_features] order (transpose_b = 1).
class IFullyConnectedNode : public INode {
 public:
  Status SetTransposeA(bool t) { return SetAttr("transpose_a", t); }
  Status SetTransposeB(bool t) { return SetAttr("transpose_b", t); }
  Status SetAlpha(float alpha) { return SetAttr("alpha", alpha); }
  Status SetBeta(float beta) { return SetAttr("beta", beta); }
};

class IConcatNode : public INode {};
class ISplitNode : public INode {};
class ISliceNode : public INode {};
class IReshapeNode : public INode {};
class IFlattenNode : public INode {};
class IPermuteNode : public INode {};
class ISqueezeNode : public INode {};
class IUnsqueezeNode : public INode {};

class IPadNode : public INode {
 public:
  Status SetValue(float value) { return SetAttr("value", value); }
};

class IResizeNode : public INode {
 public:
  // "half_pixel" (default), "asymmetric", "align_corners", "pytorch_half_pixel".
  Status SetCoordinateTransformMode(const std::string& mode) {
    return SetAttr("coordinate_transformation_mode", mode);
  }
  // "round_prefer_floor" (default), "round_prefer_ceil", "floor", "ceil".
  Status SetNearestMode(const std::string& mode) { return SetAttr("nearest_mode", mode); }
};

class ISoftmaxNode : public INode {};

class ILayerNormNode : public INode {
 public:
  Status SetEpsilon(float epsilon) { return SetAttr("epsilon", epsilon); }
};

class IReduceNode : public INode {};
class ICastNode : public INode {};
class IGatherNode : public INode {};
class IFakeQuantizeNode : public INode {};

// A network under construction. Add* calls return null on bad arguments (a null
// or foreign tensor, a wrong count); GetLastStatus() then says what was wrong.
class INetwork {
 public:
  virtual ~INetwork() = default;

  virtual ITensor* AddIInput(DataType type, const Dims& dims) = 0;
  // Copies element_count(dims) * size(type) bytes from `data`.
  virtual IConstNode* AddIConstNode(DataType type, const Dims& dims, const void* data) = 0;

  // filter layout: OHWI by default; bias may be null.
  virtual IConvNode* AddIConvNode(ITensor* input, ITensor* filter, ITensor* bias) = 0;
  // filter layout: IOHW in NCHW terms, i.e. (in, out/group, kh, kw) as in ONNX by
  // default with NCHW/OIHW layouts; with the NHWC default it is (in, kh, kw, out/group).
  virtual IConvTranspose2DNode* AddIConvTranspose2DNode(ITensor* input, ITensor* filter,
                                                        ITensor* bias) = 0;
  // return_index must be false: index outputs are not supported.
  virtual IMaxPool2DNode* AddIMaxPool2DNode(ITensor* input, bool return_index) = 0;
  virtual IAvgPool2DNode* AddIAvgPool2DNode(ITensor* input) = 0;
  virtual IGlobalAvgPoolNode* AddIGlobalAvgPoolNode(ITensor* input) = 0;
  virtual IBatchNormNode* AddIBatchNormNode(ITensor* input, ITensor* mean, ITensor* variance,
                                            ITensor* scale, ITensor* bias) = 0;
  virtual IActivationNode* AddIActivationNode(ITensor* input, ActivationType type) = 0;
  virtual IElementwiseNode* AddIElementwiseNode(ITensor* a, ITensor* b, ElementwiseOp op) = 0;
  virtual IUnaryNode* AddIUnaryNode(ITensor* input, UnaryOp op) = 0;
  virtual IMatMulNode* AddIMatMulNode(ITensor* a, ITensor* b) = 0;
  // bias may be null.
  virtual IFullyConnectedNode* AddIFullyConnectedNode(ITensor* input, ITensor* weight,
                                                      ITensor* bias) = 0;
  virtual IConcatNode* AddIConcatNode(const std::vector<ITensor*>& inputs, int64_t axis) = 0;
  // One output per entry of `sizes`.
  virtual ISplitNode* AddISplitNode(ITensor* input, int64_t axis, const std::vector<int64_t>& sizes) = 0;
  // ONNX Slice semantics (negative indices count from the end, ends clamp).
  virtual ISliceNode* AddISliceNode(ITensor* input, const std::vector<int64_t>& starts,
                                    const std::vector<int64_t>& ends,
                                    const std::vector<int64_t>& axes,
                                    const std::vector<int64_t>& steps) = 0;
  // ONNX Reshape semantics: 0 copies the input dim, one -1 is inferred.
  virtual IReshapeNode* AddIReshapeNode(ITensor* input, const Dims& shape) = 0;
  virtual IFlattenNode* AddIFlattenNode(ITensor* input, int64_t axis) = 0;
  virtual IPermuteNode* AddIPermuteNode(ITensor* input, const std::vector<int64_t>& perm) = 0;
  virtual ISqueezeNode* AddISqueezeNode(ITensor* input, const std::vector<int64_t>& axes) = 0;
  virtual IUnsqueezeNode* AddIUnsqueezeNode(ITensor* input, const std::vector<int64_t>& axes) = 0;
  // pads: begins of every axis, then ends of every axis (ONNX order).
  virtual IPadNode* AddIPadNode(ITensor* input, const std::vector<int64_t>& pads, PadMode mode) = 0;
  // One scale per axis (output = floor(input * scale)).
  virtual IResizeNode* AddIResizeNode(ITensor* input, const std::vector<float>& scales,
                                      ResizeMode mode) = 0;
  virtual ISoftmaxNode* AddISoftmaxNode(ITensor* input, int64_t axis) = 0;
  // Normalizes over axes [axis, rank); scale and bias (may be null) have those dims.
  virtual ILayerNormNode* AddILayerNormNode(ITensor* input, ITensor* scale, ITensor* bias,
                                            int64_t axis) = 0;
  virtual IReduceNode* AddIReduceNode(ITensor* input, ReduceOp op, const std::vector<int64_t>& axes,
                                      bool keep_dims) = 0;
  virtual ICastNode* AddICastNode(ITensor* input, DataType to) = 0;
  virtual IGatherNode* AddIGatherNode(ITensor* data, ITensor* indices, int64_t axis) = 0;
  // Quantize then dequantize with fixed parameters (an ONNX Q -> DQ pair in
  // front of an operator that runs in float); per axis when params.axis >= 0.
  virtual IFakeQuantizeNode* AddIFakeQuantizeNode(ITensor* input, const QuantizationParameters& params) = 0;

  virtual Status MarkOutput(ITensor* tensor) = 0;
  virtual int64_t GetInputCount() const = 0;
  virtual ITensor* GetInput(int64_t index) const = 0;
  virtual int64_t GetOutputCount() const = 0;
  virtual ITensor* GetOutput(int64_t index) const = 0;
  virtual INode* FindNodeByName(const std::string& name) const = 0;
  virtual ITensor* FindTensorByName(const std::string& name) const = 0;
  virtual std::vector<INode*> GetAllNodes() const = 0;
  // Why the last Add* call returned null.
  virtual Status GetLastStatus() const = 0;
  // Checks the whole network (dangling inputs, cycles, shapes, types) and
  // infers every tensor's dims; the message names the first node at fault.
  virtual Status Verify() = 0;
};

std::unique_ptr<INetwork> CreateINetwork();

}  // namespace mixq
