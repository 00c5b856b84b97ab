// Convolutions, pooling and batch normalization: ONNX is NCHW with OIHW
// filters (IOHW for ConvTranspose), so every node gets those layouts.
#include "frontend/onnx/rules.h"
#include "util/status_util.h"

namespace mixq::onnx_import {

namespace {

Status ExpectRank4(NodeContext& ctx) {
  int64_t rank = 0;
  MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
  if (rank != 4)
    return Unimplemented("input 0 has rank ", rank, "; only 2-D spatial inputs (NCHW, rank 4) are supported");
  return Status::OK();
}

// Attributes shared by Conv and ConvTranspose.
Status SetConvAttributes(NodeContext& ctx, IConvNode* node) {
  std::vector<int64_t> strides, dilations, pads;
  PaddingMode mode;
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "strides", 1, &strides));
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "dilations", 1, &dilations));
  MIXQ_RETURN_IF_ERROR(ReadPadding2D(ctx, &mode, &pads));
  int64_t group = 1;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("group", 1, &group));
  MIXQ_RETURN_IF_ERROR(node->SetStride(strides[0], strides[1]));
  MIXQ_RETURN_IF_ERROR(node->SetDilation(dilations[0], dilations[1]));
  MIXQ_RETURN_IF_ERROR(node->SetPad(pads[0], pads[1], pads[2], pads[3]));
  MIXQ_RETURN_IF_ERROR(node->SetPaddingMode(mode));
  MIXQ_RETURN_IF_ERROR(node->SetGroup(group));
  return Status::OK();
}

Status MapConv(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ExpectRank4(ctx));
  ITensor *x = nullptr, *w = nullptr, *b = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &w));
  if (ctx.HasInput(2)) MIXQ_RETURN_IF_ERROR(ctx.Tensor(2, &b));
  IConvNode* node = ctx.network()->AddIConvNode(x, w, b);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(node->SetLayout(Layout::NCHW, Layout::OIHW, Layout::NCHW));
  MIXQ_RETURN_IF_ERROR(SetConvAttributes(ctx, node));
  return ctx.Bind(node);
}

// output_shape fixes the output size; ONNX derives the pads from it (the
// SAME_UPPER split unless auto_pad is SAME_LOWER).
Status PadsFromOutputShape(NodeContext& ctx, IConvTranspose2DNode* node, const std::vector<int64_t>& output_shape) {
  Dims x, w;
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.InputDims(1, &w));
  if (x.GetDimsNum() != 4 || w.GetDimsNum() != 4)
    return InvalidArgument("input and weight must have rank 4, got ", x.ToString(), " and ", w.ToString());
  std::vector<int64_t> strides, dilations, output_padding;
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "strides", 1, &strides));
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "dilations", 1, &dilations));
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "output_padding", 0, &output_padding));
  std::string auto_pad;
  MIXQ_RETURN_IF_ERROR(ctx.AttrString("auto_pad", "NOTSET", &auto_pad));
  const std::vector<int64_t> out(output_shape.end() - 2, output_shape.end());
  int64_t pads[2][2];
  for (int a = 0; a < 2; ++a) {
    const int64_t in = x[static_cast<size_t>(2 + a)], k = w[static_cast<size_t>(2 + a)];
    if (in < 0) return Unimplemented("attribute 'output_shape' needs the input's spatial dims known at import");
    int64_t total = 0, span = 0;
    if (__builtin_mul_overflow(strides[a], in - 1, &total) || __builtin_mul_overflow(k - 1, dilations[a], &span) ||
        __builtin_add_overflow(total, span + output_padding[a] + 1 - out[a], &total))
      return InvalidArgument("attribute 'output_shape' with these strides / dilations overflows");
    if (total < 0) return Unimplemented("attribute 'output_shape' larger than the full transposed output");
    const int64_t small = total / 2, large = total - small;
    pads[a][0] = auto_pad == "SAME_LOWER" ? large : small;
    pads[a][1] = auto_pad == "SAME_LOWER" ? small : large;
  }
  MIXQ_RETURN_IF_ERROR(node->SetPaddingMode(PaddingMode::EXPLICIT));
  return node->SetPad(pads[0][0], pads[0][1], pads[1][0], pads[1][1]);
}

Status MapConvTranspose(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ExpectRank4(ctx));
  ITensor *x = nullptr, *w = nullptr, *b = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &w));
  if (ctx.HasInput(2)) MIXQ_RETURN_IF_ERROR(ctx.Tensor(2, &b));
  IConvTranspose2DNode* node = ctx.network()->AddIConvTranspose2DNode(x, w, b);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  // ONNX ConvTranspose weights are (C_in, C_out / group, kH, kW).
  MIXQ_RETURN_IF_ERROR(node->SetAttr("input_layout", "NCHW"));
  MIXQ_RETURN_IF_ERROR(node->SetAttr("filter_layout", "IOHW"));
  MIXQ_RETURN_IF_ERROR(node->SetAttr("output_layout", "NCHW"));
  MIXQ_RETURN_IF_ERROR(SetConvAttributes(ctx, node));
  std::vector<int64_t> output_padding, output_shape;
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "output_padding", 0, &output_padding));
  MIXQ_RETURN_IF_ERROR(node->SetOutputPadding(output_padding[0], output_padding[1]));
  MIXQ_RETURN_IF_ERROR(ctx.AttrInts("output_shape", {}, &output_shape));
  if (!output_shape.empty()) {
    if (output_shape.size() != 2 && output_shape.size() != 4)
      return InvalidArgument("attribute 'output_shape' must have 2 (or 4) values, got ", output_shape.size());
    MIXQ_RETURN_IF_ERROR(PadsFromOutputShape(ctx, node, output_shape));
  }
  return ctx.Bind(node);
}

Status SetPoolAttributes(NodeContext& ctx, IPool2DNode* node) {
  std::vector<int64_t> kernel, strides, pads;
  PaddingMode mode;
  if (!ctx.HasAttr("kernel_shape")) return InvalidArgument("attribute 'kernel_shape' is required");
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "kernel_shape", 1, &kernel));
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "strides", 1, &strides));
  MIXQ_RETURN_IF_ERROR(ReadPadding2D(ctx, &mode, &pads));
  int64_t ceil_mode = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("ceil_mode", 0, &ceil_mode));
  MIXQ_RETURN_IF_ERROR(node->SetLayout(Layout::NCHW));
  MIXQ_RETURN_IF_ERROR(node->SetKernel(kernel[0], kernel[1]));
  MIXQ_RETURN_IF_ERROR(node->SetStride(strides[0], strides[1]));
  MIXQ_RETURN_IF_ERROR(node->SetPad(pads[0], pads[1], pads[2], pads[3]));
  MIXQ_RETURN_IF_ERROR(node->SetPaddingMode(mode));
  return node->SetCeilMode(ceil_mode != 0);
}

Status MapMaxPool(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ExpectRank4(ctx));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputsAtMost(1));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectAttrInt("storage_order", 0, "only row-major indices"));
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IMaxPool2DNode* node = ctx.network()->AddIMaxPool2DNode(x, false);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(SetPoolAttributes(ctx, node));
  std::vector<int64_t> dilations;
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "dilations", 1, &dilations));
  MIXQ_RETURN_IF_ERROR(node->SetDilation(dilations[0], dilations[1]));
  return ctx.Bind(node);
}

Status MapAveragePool(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ExpectRank4(ctx));
  std::vector<int64_t> dilations;
  MIXQ_RETURN_IF_ERROR(ReadPair(ctx, "dilations", 1, &dilations));
  if (dilations[0] != 1 || dilations[1] != 1)
    return Unimplemented("attribute 'dilations' ", Dims(dilations).ToString(), " is not supported (only 1)");
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  IAvgPool2DNode* node = ctx.network()->AddIAvgPool2DNode(x);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(SetPoolAttributes(ctx, node));
  int64_t include = 0;
  MIXQ_RETURN_IF_ERROR(ctx.AttrInt("count_include_pad", 0, &include));
  MIXQ_RETURN_IF_ERROR(node->SetCountIncludePad(include != 0));
  return ctx.Bind(node);
}

// Global pooling over every axis after N and C; rank-4 average pooling uses
// the dedicated GlobalAvgPool op, everything else a Reduce.
Status MapGlobalPool(NodeContext& ctx, ReduceOp op) {
  int64_t rank = 0;
  MIXQ_RETURN_IF_ERROR(ctx.InputRank(0, &rank));
  if (rank < 3) return InvalidArgument("input 0 must have rank >= 3 (N, C, spatial...), got ", rank);
  ITensor* x = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  if (rank == 4 && op == ReduceOp::MEAN) {
    IGlobalAvgPoolNode* node = ctx.network()->AddIGlobalAvgPoolNode(x);
    MIXQ_RETURN_IF_ERROR(ctx.Added(node));
    MIXQ_RETURN_IF_ERROR(node->SetLayout(Layout::NCHW));
    return ctx.Bind(node);
  }
  std::vector<int64_t> axes;
  for (int64_t a = 2; a < rank; ++a) axes.push_back(a);
  IReduceNode* node = ctx.network()->AddIReduceNode(x, op, axes, true);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  return ctx.Bind(node);
}

Status MapGlobalAveragePool(NodeContext& ctx) {
  return MapGlobalPool(ctx, ReduceOp::MEAN);
}
Status MapGlobalMaxPool(NodeContext& ctx) {
  return MapGlobalPool(ctx, ReduceOp::MAX);
}

Status MapBatchNormalization(NodeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputsAtMost(1));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectAttrInt("training_mode", 0, "inference only"));
  ITensor *x = nullptr, *scale = nullptr, *bias = nullptr, *mean = nullptr, *var = nullptr;
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(0, &x));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(1, &scale));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(2, &bias));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(3, &mean));
  MIXQ_RETURN_IF_ERROR(ctx.Tensor(4, &var));
  float epsilon = 1e-5f;
  MIXQ_RETURN_IF_ERROR(ctx.AttrFloat("epsilon", 1e-5f, &epsilon));
  IBatchNormNode* node = ctx.network()->AddIBatchNormNode(x, mean, var, scale, bias);
  MIXQ_RETURN_IF_ERROR(ctx.Added(node));
  MIXQ_RETURN_IF_ERROR(node->SetEpsilon(epsilon));
  MIXQ_RETURN_IF_ERROR(node->SetAxis(1));
  return ctx.Bind(node);
}

}  // namespace

void AddConvRules(std::vector<Rule>* rules) {
  rules->insert(rules->end(),
                {
                    {"Conv", MapConv, nullptr, "", "Conv2D", "2-D only (rank-4 NCHW input)"},
                    {"ConvTranspose", MapConvTranspose, nullptr, "", "ConvTranspose2D",
                     "2-D only; output_shape needs static spatial input dims"},
                    {"MaxPool", MapMaxPool, nullptr, "", "MaxPool2D", "2-D only; no Indices output; storage_order 0"},
                    {"AveragePool", MapAveragePool, nullptr, "", "AvgPool2D", "2-D only; dilations must be 1"},
                    {"GlobalAveragePool", MapGlobalAveragePool, nullptr, "",
                     "GlobalAvgPool (rank 4), Reduce mean (other ranks)", ""},
                    {"GlobalMaxPool", MapGlobalMaxPool, nullptr, "", "Reduce max", ""},
                    {"BatchNormalization", MapBatchNormalization, nullptr, "", "BatchNorm (axis 1)",
                     "inference only (training_mode 0, one output)"},
                });
}

}  // namespace mixq::onnx_import
