// INetwork / ITensor / INode implemented over ir::Graph.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "mixq/network.h"
#include "ops/op_schema.h"

namespace mixq::quant {
struct CalibrationState;
}  // namespace mixq::quant

namespace mixq::api {

class NetworkImpl;

class TensorImpl : public ITensor {
 public:
  TensorImpl(NetworkImpl* network, int value_id) : network_(network), id_(value_id) {}
  Dims GetDimension() const override;
  Status SetDimension(const Dims& dims) override;
  DataType GetDataType() const override;
  Status SetDataType(DataType type) override;
  std::string GetTensorName() const override;
  Status SetTensorName(const std::string& name) override;
  Status SetDynamicRange(const Range& range, bool force) override;
  Status SetDynamicRangePerAxis(const std::vector<Range>& ranges, bool force) override;
  bool HasDynamicRange() const override;
  Range GetDynamicRange() const override;
  std::vector<Range> GetDynamicRangePerAxis() const override;
  INode* GetProducer() const override;

  NetworkImpl* network() const { return network_; }
  int id() const { return id_; }

 private:
  NetworkImpl* network_;
  int id_;
};

// Implements every INode method; Iface is INode or one of its typed
// subinterfaces (whose setters only call SetAttr).
template <typename Iface>
class NodeImpl;

class NetworkImpl : public INetwork {
 public:
  NetworkImpl() = default;

  ITensor* AddIInput(DataType type, const Dims& dims) override;
  IConstNode* AddIConstNode(DataType type, const Dims& dims, const void* data) override;
  IConvNode* AddIConvNode(ITensor* input, ITensor* filter, ITensor* bias) override;
  IConvTranspose2DNode* AddIConvTranspose2DNode(ITensor* input, ITensor* filter, ITensor* bias) override;
  IMaxPool2DNode* AddIMaxPool2DNode(ITensor* input, bool return_index) override;
  IAvgPool2DNode* AddIAvgPool2DNode(ITensor* input) override;
  IGlobalAvgPoolNode* AddIGlobalAvgPoolNode(ITensor* input) override;
  IBatchNormNode* AddIBatchNormNode(ITensor* input, ITensor* mean, ITensor* variance, ITensor* scale,
                                    ITensor* bias) override;
  IActivationNode* AddIActivationNode(ITensor* input, ActivationType type) override;
  IElementwiseNode* AddIElementwiseNode(ITensor* a, ITensor* b, ElementwiseOp op) override;
  IUnaryNode* AddIUnaryNode(ITensor* input, UnaryOp op) override;
  IMatMulNode* AddIMatMulNode(ITensor* a, ITensor* b) override;
  IFullyConnectedNode* AddIFullyConnectedNode(ITensor* input, ITensor* weight, ITensor* bias) override;
  IConcatNode* AddIConcatNode(const std::vector<ITensor*>& inputs, int64_t axis) override;
  ISplitNode* AddISplitNode(ITensor* input, int64_t axis, const std::vector<int64_t>& sizes) override;
  ISliceNode* AddISliceNode(ITensor* input, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                            const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) override;
  IReshapeNode* AddIReshapeNode(ITensor* input, const Dims& shape) override;
  IFlattenNode* AddIFlattenNode(ITensor* input, int64_t axis) override;
  IPermuteNode* AddIPermuteNode(ITensor* input, const std::vector<int64_t>& perm) override;
  ISqueezeNode* AddISqueezeNode(ITensor* input, const std::vector<int64_t>& axes) override;
  IUnsqueezeNode* AddIUnsqueezeNode(ITensor* input, const std::vector<int64_t>& axes) override;
  IPadNode* AddIPadNode(ITensor* input, const std::vector<int64_t>& pads, PadMode mode) override;
  IResizeNode* AddIResizeNode(ITensor* input, const std::vector<float>& scales, ResizeMode mode) override;
  ISoftmaxNode* AddISoftmaxNode(ITensor* input, int64_t axis) override;
  ILayerNormNode* AddILayerNormNode(ITensor* input, ITensor* scale, ITensor* bias, int64_t axis) override;
  IReduceNode* AddIReduceNode(ITensor* input, ReduceOp op, const std::vector<int64_t>& axes,
                              bool keep_dims) override;
  ICastNode* AddICastNode(ITensor* input, DataType to) override;
  IGatherNode* AddIGatherNode(ITensor* data, ITensor* indices, int64_t axis) override;

  Status MarkOutput(ITensor* tensor) override;
  int64_t GetInputCount() const override { return static_cast<int64_t>(graph_.inputs().size()); }
  ITensor* GetInput(int64_t index) const override;
  int64_t GetOutputCount() const override { return static_cast<int64_t>(graph_.outputs().size()); }
  ITensor* GetOutput(int64_t index) const override;
  INode* FindNodeByName(const std::string& name) const override;
  ITensor* FindTensorByName(const std::string& name) const override;
  std::vector<INode*> GetAllNodes() const override;
  Status GetLastStatus() const override { return last_status_; }
  Status Verify() override;

  // For the builder and the other API classes.
  const ir::Graph& graph() const { return graph_; }
  ir::Graph& mutable_graph() {
    shapes_dirty_ = true;
    return graph_;
  }
  // Re-infers dims and types of node outputs after a change (best effort:
  // on an error, dims stay as last known; Verify() reports the error).
  void RefreshShapes();
  TensorImpl* tensor(int value_id) const { return tensors_.at(static_cast<size_t>(value_id)).get(); }
  INode* node(int node_id) const { return nodes_.at(static_cast<size_t>(node_id)).get(); }
  // Null, or an error in last_status_ naming the argument, when `tensor` is not one of ours.
  int ValueIdOf(ITensor* tensor, const char* what);
  // What Calibrate / LoadStatistics / ReadRangeTable left (SPEC §3: the
  // network "with statistics"); null before. BuildModel turns it into ranges.
  const quant::CalibrationState* calibration() const { return calibration_.get(); }
  void set_calibration(std::shared_ptr<const quant::CalibrationState> state) { calibration_ = std::move(state); }

 private:
  template <typename Iface>
  Iface* AddNode(OpKind op, const std::vector<ITensor*>& inputs, int required_inputs, int num_outputs);
  bool Fail(Status status);

  ir::Graph graph_;
  std::vector<std::unique_ptr<TensorImpl>> tensors_;  // by value id
  std::vector<std::unique_ptr<INode>> nodes_;         // by node id
  Status last_status_;
  bool shapes_dirty_ = true;
  std::shared_ptr<const quant::CalibrationState> calibration_;
};

// The NetworkImpl behind a public INetwork, or null if it is not one of ours.
NetworkImpl* ToImpl(INetwork* network);

}  // namespace mixq::api
