// The reference kernel of an operator with quantized inputs (Conv2D,
// ConvTranspose2D, MatMul, FullyConnected): the op's exact integer reference
// (OpSchema::integer_reference) on the centered integers, then the output
// stage of SPEC §1.5 (quant/requantize.h) into FLOAT32 / FLOAT16 / BFLOAT16
// or directly into INT8 / INT16 with the output's parameters. Activations come
// in as INT8 / INT16 storage (their Convert step quantized them), weights as
// INT8 / INT16 constants quantized at build. Piecewise-linear activation
// post-ops (and a residual add on float outputs) are applied exactly as the
// unfused steps would.
#pragma once

#include <memory>

#include "ops/kernel_registry.h"

namespace mixq::ops {

// Takes every fused kAdd whose addend has the output's shape (a residual
// add), never a column addend (below): the reference adds element by element.
bool QuantizedReferenceSupports(const KernelInit& init);

// A kAdd post-op whose addend is a FLOAT32 tensor of shape [N] or [1, ...,
// 1, N] (N: the output's last dim) other than the output's shape: the bias
// of an ONNX Linear layer (MatMul + Add), fused by
// runtime/fusion/fuse_bias_add.cc, broadcast along the last axis.
bool IsColumnAddend(const KernelInit& init, const PostOp& op);

// The kernels that add a column addend in their own stage (the int8 and
// int16 weight GEMMs) check the rest of the step without it: when the first
// post-op is a column addend, returns its input and fills `rest` with the
// post-ops after it; else returns -1 and leaves `rest` alone.
int SplitLeadingColumnAddend(const KernelInit& init, std::vector<PostOp>* rest);

// Inputs 0 and 1 consumed as QINT8 and a step the quantized reference takes:
// what the int8 accumulation kernels need before their own geometry checks.
bool TakesInt8Operands(const KernelInit& init);

// Inputs 0 and 1 consumed as QINT16 with zero points 0 (symmetric: every
// centered value fits int16) and a step the quantized reference takes: what
// the exact int16 kernels (kernels::GemmInt16ExactAvx2) need.
bool TakesSymmetricInt16Operands(const KernelInit& init);

// The first `count` inputs as the real-valued (FLOAT32) tensors they stand
// for, storage aside, for the op's geometry functions; `storage` keeps them.
std::vector<const ValueInfo*> RealValuedInfos(const KernelInit& init, size_t count, std::vector<ValueInfo>* storage);
Status MakeQuantizedReference(const OpSchema& schema, const KernelInit& init, std::unique_ptr<Kernel>* kernel);

// The same kernel around another `accumulate` (the contract of
// OpSchema::integer_reference: INT32 centered integers in, exact INT64
// accumulators out), named `name`: fast kernels replace only the
// accumulation, so their outputs are bit-exact whenever their sums are.
Status MakeQuantizedKernel(const OpSchema& schema, const KernelInit& init, KernelFactory accumulate, const char* name,
                           std::unique_ptr<Kernel>* kernel);

// Integer-domain bounds of a piecewise-linear activation on a quantized
// tensor: relu -> [z, p], relu6 / clip -> [Q(lo), Q(hi)] (SPEC §1 Quantize).
// False for kinds that do not commute with quantization (leaky_relu, hard_swish).
bool IntegerActivationBounds(const PostOp& op, float scale, int32_t zero_point, int bits, int32_t* lo, int32_t* hi);

// The PostOp an Activation node's attributes describe (relu, relu6, clip,
// leaky_relu; hard_swish as a float chain post-op); false for other types.
bool ActivationPostOp(const ir::AttrMap& attrs, PostOp* op);

// y after a float activation post-op, with the comparisons of the Activation
// kernels (NaN and -0.0 behave the same).
float ApplyFloatActivation(const PostOp& op, float v);

}  // namespace mixq::ops
