// What the oneDNN kernels of several ops share: mixq post-ops as oneDNN
// attributes, and constant weights reordered once per engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/onednn.h"
#include "ops/kernel_registry.h"

namespace mixq::ops {

// The post-ops as oneDNN attributes: a sum for a residual add, eltwise for
// activations and scalar products / sums.
dnnl::primitive_attr PostOpAttr(const std::vector<PostOp>& ops);

// True when oneDNN takes these post-ops: (when `sum_allowed`) one residual
// add, first in the chain, whose addend has the output's shape; relu, relu6,
// clip, leaky_relu, hard_swish, gelu_erf, gelu_tanh; y * c and y + c. Not
// kQuantize.
bool OneDnnSupportsPostOps(const KernelInit& init, bool sum_allowed);

// As OneDnnSupportsPostOps, but every kAdd (anywhere in the chain) becomes a
// binary_add post-op whose addend has the output's shape or one value per
// output column ([N] or [1, ..., 1, N], a MatMul's bias): what the MatMul
// primitive takes (runtime/fusion/fuse_bias_add.cc).
bool OneDnnSupportsBinaryPostOps(const KernelInit& init);

// A binary_add post-op's execution argument: the oneDNN argument id, the
// step input it reads, its memory descriptor.
struct BinaryAddend {
  int arg = 0;
  int input = -1;
  dnnl::memory::desc md;
};

// The post-ops of OneDnnSupportsBinaryPostOps as oneDNN attributes;
// `addends` holds the descriptor of each kAdd's addend in order (dims padded
// to the output's rank), *args what Run passes for them.
dnnl::primitive_attr BinaryPostOpAttr(const std::vector<PostOp>& ops, const std::vector<dnnl::memory::desc>& addends,
                                      std::vector<BinaryAddend>* args);

// As OneDnnSupportsBinaryPostOps, for the bfloat16 kernels: an addend may
// also be BFLOAT16 storage of the output's shape (a residual), read by
// oneDNN as bf16.
bool OneDnnSupportsBFloat16BinaryPostOps(const KernelInit& init);

// bfloat16 storage of a real value (not a constant): what the bfloat16
// kernels (onednn-bf16) read and write.
bool IsBFloat16Storage(const ValueInfo& v);
// Every value of a FLOAT32 constant is a bfloat16 value: the planner rounds a
// constant consumed in BFLOAT16 once (passes/qdq_placement.cc), so oneDNN's
// conversion of it to bf16 is exact.
bool HoldsBFloat16Values(const ValueInfo& v);
// Whether this CPU has bfloat16 dot products (AVX512_BF16; AMX-BF16 implies
// it), which the onednn-bf16 kernels need.
bool BFloat16ArithmeticAvailable();
// A oneDNN implementation name on native bfloat16 instructions (AVX512_BF16,
// AMX): "brgconv:avx512_core_amx_bf16", "brg:avx512_core_amx_bf16", ... not
// the emulated plain AVX-512 ones, slower than float32.
bool NativeBFloat16Impl(const std::string& impl_info);

// True for a jit implementation (direct or brgemm) of oneDNN's, not a
// reference or gemm one: `impl_info` is the primitive's impl_info_str().
bool JitImpl(const std::string& impl_info);

// Binds each non-empty temporary copies[slot] (made with DNNL_MEMORY_NONE)
// to this thread's scratch slot `slot` (kernels/thread_scratch.h), shared
// with every other kernel the thread runs; false when memory runs out.
bool BindThreadScratch(dnnl::memory* const* copies, int count);

// oneDNN's plain filter format of a convolution filter layout ("OIHW",
// "OHWI", "HWCN"), grouped (G, O/G, I/G, KH, KW) or not.
dnnl::memory::format_tag ConvFilterTag(const std::string& layout, bool grouped);

// `user` (the constant's bytes in `user_md`) reordered into `packed_md`,
// shared through the engine's weight cache (init.weights) under
// init.weight_key + `what`; without a cache (op tests), a private copy whose
// size goes to *private_bytes. Throws dnnl::error / std::runtime_error (run
// inside kernels::OneDnnCall).
std::shared_ptr<const dnnl::memory> PackWeights(const KernelInit& init, const char* what,
                                                const dnnl::memory::desc& user_md, const void* user,
                                                const dnnl::memory::desc& packed_md, int64_t* private_bytes);

}  // namespace mixq::ops
