// The kernel that runs one node with its planned precisions (SPEC §2):
// float inputs consumed in FLOAT16 / BFLOAT16 are rounded to it, outputs
// produced in FLOAT16 / BFLOAT16 are rounded, and when any input is consumed
// in QINT8 / QINT16 the op runs its exact integer reference on the quantized,
// centered values and the accumulators are scaled back to float:
//   y[c] = acc * s_in * s_w[c] (+ bias[c])        (Gemm: alpha * ... + beta * C)
// In memory every activation stays FLOAT32 (float16 values are float32
// numbers that float16 can represent): the reference path trades memory for
// simplicity; optimized kernels store them narrow.
#pragma once

#include <memory>
#include <vector>

#include "ir/graph.h"
#include "ops/op_schema.h"

namespace mixq::runtime {

// `inputs` describe the values as stored (quantized weights are INT8 /
// INT16 constants); `outputs` as inferred.
// True when a node with an optimized kernel gets it: every input stored and
// consumed as FLOAT32 and every output produced as FLOAT32.
bool UsesOptimized(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs);

// `optimized`: use the op's optimized kernel where it has one and the node
// runs in plain float32 (false: the reference, as ContextOptions::force_reference asks).
Status MakeNodeKernel(const ir::Node& node, const std::vector<const ops::ValueInfo*>& inputs,
                      const std::vector<ops::ValueInfo>& outputs, bool optimized, std::unique_ptr<ops::Kernel>* kernel);

}  // namespace mixq::runtime
