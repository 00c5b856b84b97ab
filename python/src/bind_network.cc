// Network building: ITensor, INode and its typed subclasses, INetwork.
// Tensors and nodes are owned by their network; Python keeps the network alive
// as long as any of its tensors or nodes is referenced (reference_internal).
#include <pybind11/stl.h>

#include <typeinfo>

#include "bindings.h"
#include "mixq/network.h"

// Nodes found through get_all_nodes / find_node_by_name / get_producer come back
// as their typed interface (IConvNode, ...), so their typed setters are there.
namespace pybind11 {
template <>
struct polymorphic_type_hook<mixq::INode> {
  static const void* get(const mixq::INode* src, const std::type_info*& type) {
    type = nullptr;
#define MIXQ_TRY_NODE(Iface)                                 \
  if (auto* typed = dynamic_cast<const mixq::Iface*>(src)) { \
    type = &typeid(mixq::Iface);                             \
    return typed;                                            \
  }
    if (src == nullptr) return src;
    // Most derived first: IConvTranspose2DNode is an IConvNode, the pools are IPool2DNodes.
    MIXQ_TRY_NODE(IConvTranspose2DNode)
    MIXQ_TRY_NODE(IConvNode)
    MIXQ_TRY_NODE(IMaxPool2DNode)
    MIXQ_TRY_NODE(IAvgPool2DNode)
    MIXQ_TRY_NODE(IGlobalAvgPoolNode)
    MIXQ_TRY_NODE(IBatchNormNode)
    MIXQ_TRY_NODE(IActivationNode)
    MIXQ_TRY_NODE(IMatMulNode)
    MIXQ_TRY_NODE(IFullyConnectedNode)
    MIXQ_TRY_NODE(IPadNode)
    MIXQ_TRY_NODE(IResizeNode)
    MIXQ_TRY_NODE(ILayerNormNode)
#undef MIXQ_TRY_NODE
    return src;
  }
};
}  // namespace pybind11

namespace mixq::python {
namespace {

constexpr auto kInternal = py::return_value_policy::reference_internal;

// Add* calls return null on bad arguments; the network's last status says why.
template <typename T>
T* OrRaise(const INetwork& network, T* result) {
  if (result == nullptr) {
    Status status = network.GetLastStatus();
    RaiseStatus(status.ok() ? Status(StatusCode::INTERNAL, "the network returned no node and no error") : status);
  }
  return result;
}

// The DataType a numpy array's dtype carries (for constants given as arrays).
DataType DataTypeOfArray(const py::array& array) {
  for (DataType type : {DataType::FLOAT32, DataType::FLOAT16, DataType::INT8, DataType::INT16, DataType::INT32,
                        DataType::INT64, DataType::UINT8, DataType::BOOL})
    if (array.dtype().is(DtypeFor(type)) || array.dtype().equal(DtypeFor(type))) return type;
  RaiseStatus(Status(StatusCode::INVALID_ARGUMENT,
                     "add_i_const_node: no mixq data type for numpy dtype " + DtypeName(array.dtype())));
}

IConstNode* AddConst(INetwork& network, DataType type, const Dims& dims, const py::array& data) {
  if (!data.dtype().equal(DtypeFor(type)))
    RaiseStatus(Status(StatusCode::INVALID_ARGUMENT, "add_i_const_node: the data is " + DtypeName(data.dtype()) +
                                                         " but the constant is " + DataTypeName(type) + " (numpy " +
                                                         DtypeName(DtypeFor(type)) + ")"));
  if (dims.HasDynamicDim() || data.size() != dims.GetElementCount())
    RaiseStatus(Status(StatusCode::INVALID_ARGUMENT, "add_i_const_node: the data has " + std::to_string(data.size()) +
                                                         " elements but dims " + dims.ToString() + " need " +
                                                         std::to_string(dims.GetElementCount())));
  // A C-ordered copy only when the array is not one already.
  auto contiguous = py::array::ensure(data, py::array::c_style);
  return OrRaise(network, network.AddIConstNode(type, dims, contiguous.data()));
}

// Methods after every class exists, so signatures name the Python classes (stubs, help()).
void BindTensorMethods(py::class_<ITensor, std::unique_ptr<ITensor, py::nodelete>>& tensor) {
  tensor.def("get_dimension", &ITensor::GetDimension)
      .def("set_dimension", Checked(&ITensor::SetDimension), py::arg("dims"), "Only for network inputs.")
      .def("get_data_type", &ITensor::GetDataType)
      .def("set_data_type", Checked(&ITensor::SetDataType), py::arg("type"), "Only for network inputs.")
      .def("get_tensor_name", &ITensor::GetTensorName)
      .def("set_tensor_name", Checked(&ITensor::SetTensorName), py::arg("name"))
      .def("set_dynamic_range", Checked(&ITensor::SetDynamicRange), py::arg("range"), py::arg("force") = true,
           "The range this tensor is quantized with; force=True wins over calibration.")
      .def("set_dynamic_range_per_axis", Checked(&ITensor::SetDynamicRangePerAxis), py::arg("ranges"),
           py::arg("force") = true)
      .def("has_dynamic_range", &ITensor::HasDynamicRange)
      .def("get_dynamic_range", &ITensor::GetDynamicRange)
      .def("get_dynamic_range_per_axis", &ITensor::GetDynamicRangePerAxis)
      .def("set_quantization_parameters", Checked(&ITensor::SetQuantizationParameters), py::arg("params"))
      .def(
          "get_quantization_parameters",
          [](const ITensor& t) -> py::object {
            QuantizationParameters params;
            if (!t.GetQuantizationParameters(&params)) return py::none();
            return py::cast(params);
          },
          "The exact quantization parameters, or None when none were set.")
      .def("get_producer", &ITensor::GetProducer, kInternal, "The producing node; None for a network input.")
      .def("__repr__", [](const ITensor& t) {
        return "ITensor('" + t.GetTensorName() + "', " + DataTypeName(t.GetDataType()) + ", " +
               t.GetDimension().ToString() + ")";
      });
}

void BindNodes(py::module_& m) {
  using NoDelete = py::nodelete;
  py::class_<INode, std::unique_ptr<INode, NoDelete>>(m, "INode", "An operator instance (owned by the network).")
      .def("get_op_type", &INode::GetOpType)
      .def("get_node_name", &INode::GetNodeName)
      .def("set_node_name", Checked(&INode::SetNodeName), py::arg("name"))
      .def("get_input_count", &INode::GetInputCount)
      .def("get_output_count", &INode::GetOutputCount)
      .def("get_input", &INode::GetInput, py::arg("index"), kInternal, "None for an index out of range.")
      .def("get_output", &INode::GetOutput, py::arg("index"), kInternal, "None for an index out of range.")
      .def("set_precision", Checked(&INode::SetPrecision), py::arg("index"), py::arg("precision"),
           "The precision input `index` is consumed in; overrides the network-level mode.")
      .def("set_output_type", Checked(&INode::SetOutputType), py::arg("index"), py::arg("type"),
           "The data type output `index` is produced in; overrides the network-level mode.")
      .def(
          "get_precision",
          [](const INode& n, size_t index) -> std::optional<DataType> {
            DataType type;
            if (!n.GetPrecision(index, &type)) return std::nullopt;
            return type;
          },
          py::arg("index"), "What set_precision set, or None.")
      .def(
          "get_output_type",
          [](const INode& n, size_t index) -> std::optional<DataType> {
            DataType type;
            if (!n.GetOutputType(index, &type)) return std::nullopt;
            return type;
          },
          py::arg("index"), "What set_output_type set, or None.")
      // Overloads in this order so that True stays a bool, 3 an int and 3.0 a float.
      .def("set_attr", Checked(static_cast<Status (INode::*)(const std::string&, const std::string&)>(&INode::SetAttr)),
           py::arg("name"), py::arg("value"))
      .def("set_attr", Checked(static_cast<Status (INode::*)(const std::string&, int64_t)>(&INode::SetAttr)),
           py::arg("name"), py::arg("value").noconvert())
      .def("set_attr", Checked(static_cast<Status (INode::*)(const std::string&, float)>(&INode::SetAttr)),
           py::arg("name"), py::arg("value"))
      .def("set_attr",
           Checked(static_cast<Status (INode::*)(const std::string&, const std::vector<int64_t>&)>(&INode::SetAttr)),
           py::arg("name"), py::arg("value"))
      .def("set_attr",
           Checked(static_cast<Status (INode::*)(const std::string&, const std::vector<float>&)>(&INode::SetAttr)),
           py::arg("name"), py::arg("value"), "Generic attribute access; names per operator in docs/operators.md.")
      .def("__repr__", [](const INode& n) { return "INode(" + n.GetOpType() + " '" + n.GetNodeName() + "')"; });

  py::class_<IConstNode, INode, std::unique_ptr<IConstNode, NoDelete>>(m, "IConstNode");
  py::class_<IConvNode, INode, std::unique_ptr<IConvNode, NoDelete>>(m, "IConvNode")
      .def("set_stride", Checked(&IConvNode::SetStride), py::arg("h"), py::arg("w"))
      .def("set_pad", Checked(&IConvNode::SetPad), py::arg("top"), py::arg("bottom"), py::arg("left"), py::arg("right"))
      .def("set_dilation", Checked(&IConvNode::SetDilation), py::arg("h"), py::arg("w"))
      .def("set_group", Checked(&IConvNode::SetGroup), py::arg("group"))
      .def("set_padding_mode", Checked(&IConvNode::SetPaddingMode), py::arg("mode"))
      .def("set_layout", Checked(&IConvNode::SetLayout), py::arg("input"), py::arg("filter"), py::arg("output"));
  py::class_<IConvTranspose2DNode, IConvNode, std::unique_ptr<IConvTranspose2DNode, NoDelete>>(m,
                                                                                               "IConvTranspose2DNode")
      .def("set_output_padding", Checked(&IConvTranspose2DNode::SetOutputPadding), py::arg("h"), py::arg("w"));
  py::class_<IPool2DNode, INode, std::unique_ptr<IPool2DNode, NoDelete>>(m, "IPool2DNode")
      .def("set_kernel", Checked(&IPool2DNode::SetKernel), py::arg("h"), py::arg("w"))
      .def("set_stride", Checked(&IPool2DNode::SetStride), py::arg("h"), py::arg("w"))
      .def("set_pad", Checked(&IPool2DNode::SetPad), py::arg("top"), py::arg("bottom"), py::arg("left"),
           py::arg("right"))
      .def("set_ceil_mode", Checked(&IPool2DNode::SetCeilMode), py::arg("ceil_mode"))
      .def("set_padding_mode", Checked(&IPool2DNode::SetPaddingMode), py::arg("mode"))
      .def("set_layout", Checked(&IPool2DNode::SetLayout), py::arg("layout"));
  py::class_<IMaxPool2DNode, IPool2DNode, std::unique_ptr<IMaxPool2DNode, NoDelete>>(m, "IMaxPool2DNode")
      .def("set_dilation", Checked(&IMaxPool2DNode::SetDilation), py::arg("h"), py::arg("w"));
  py::class_<IAvgPool2DNode, IPool2DNode, std::unique_ptr<IAvgPool2DNode, NoDelete>>(m, "IAvgPool2DNode")
      .def("set_count_include_pad", Checked(&IAvgPool2DNode::SetCountIncludePad), py::arg("include"));
  py::class_<IGlobalAvgPoolNode, INode, std::unique_ptr<IGlobalAvgPoolNode, NoDelete>>(m, "IGlobalAvgPoolNode")
      .def("set_layout", Checked(&IGlobalAvgPoolNode::SetLayout), py::arg("layout"));
  py::class_<IBatchNormNode, INode, std::unique_ptr<IBatchNormNode, NoDelete>>(m, "IBatchNormNode")
      .def("set_epsilon", Checked(&IBatchNormNode::SetEpsilon), py::arg("epsilon"))
      .def("set_axis", Checked(&IBatchNormNode::SetAxis), py::arg("axis"));
  py::class_<IActivationNode, INode, std::unique_ptr<IActivationNode, NoDelete>>(m, "IActivationNode")
      .def("set_alpha", Checked(&IActivationNode::SetAlpha), py::arg("alpha"))
      .def("set_beta", Checked(&IActivationNode::SetBeta), py::arg("beta"));
  py::class_<IMatMulNode, INode, std::unique_ptr<IMatMulNode, NoDelete>>(m, "IMatMulNode")
      .def("set_transpose_a", Checked(&IMatMulNode::SetTransposeA), py::arg("transpose"))
      .def("set_transpose_b", Checked(&IMatMulNode::SetTransposeB), py::arg("transpose"));
  py::class_<IFullyConnectedNode, INode, std::unique_ptr<IFullyConnectedNode, NoDelete>>(m, "IFullyConnectedNode")
      .def("set_transpose_a", Checked(&IFullyConnectedNode::SetTransposeA), py::arg("transpose"))
      .def("set_transpose_b", Checked(&IFullyConnectedNode::SetTransposeB), py::arg("transpose"))
      .def("set_alpha", Checked(&IFullyConnectedNode::SetAlpha), py::arg("alpha"))
      .def("set_beta", Checked(&IFullyConnectedNode::SetBeta), py::arg("beta"));
  py::class_<IPadNode, INode, std::unique_ptr<IPadNode, NoDelete>>(m, "IPadNode")
      .def("set_value", Checked(&IPadNode::SetValue), py::arg("value"));
  py::class_<IResizeNode, INode, std::unique_ptr<IResizeNode, NoDelete>>(m, "IResizeNode")
      .def("set_coordinate_transform_mode", Checked(&IResizeNode::SetCoordinateTransformMode), py::arg("mode"))
      .def("set_nearest_mode", Checked(&IResizeNode::SetNearestMode), py::arg("mode"));
  py::class_<ILayerNormNode, INode, std::unique_ptr<ILayerNormNode, NoDelete>>(m, "ILayerNormNode")
      .def("set_epsilon", Checked(&ILayerNormNode::SetEpsilon), py::arg("epsilon"));
  // Interfaces without typed setters: plain INodes with their own name.
  py::class_<IElementwiseNode, INode, std::unique_ptr<IElementwiseNode, NoDelete>>(m, "IElementwiseNode");
  py::class_<IUnaryNode, INode, std::unique_ptr<IUnaryNode, NoDelete>>(m, "IUnaryNode");
  py::class_<IConcatNode, INode, std::unique_ptr<IConcatNode, NoDelete>>(m, "IConcatNode");
  py::class_<ISplitNode, INode, std::unique_ptr<ISplitNode, NoDelete>>(m, "ISplitNode");
  py::class_<ISliceNode, INode, std::unique_ptr<ISliceNode, NoDelete>>(m, "ISliceNode");
  py::class_<IReshapeNode, INode, std::unique_ptr<IReshapeNode, NoDelete>>(m, "IReshapeNode");
  py::class_<IFlattenNode, INode, std::unique_ptr<IFlattenNode, NoDelete>>(m, "IFlattenNode");
  py::class_<IPermuteNode, INode, std::unique_ptr<IPermuteNode, NoDelete>>(m, "IPermuteNode");
  py::class_<ISqueezeNode, INode, std::unique_ptr<ISqueezeNode, NoDelete>>(m, "ISqueezeNode");
  py::class_<IUnsqueezeNode, INode, std::unique_ptr<IUnsqueezeNode, NoDelete>>(m, "IUnsqueezeNode");
  py::class_<ISoftmaxNode, INode, std::unique_ptr<ISoftmaxNode, NoDelete>>(m, "ISoftmaxNode");
  py::class_<IReduceNode, INode, std::unique_ptr<IReduceNode, NoDelete>>(m, "IReduceNode");
  py::class_<ICastNode, INode, std::unique_ptr<ICastNode, NoDelete>>(m, "ICastNode");
  py::class_<IGatherNode, INode, std::unique_ptr<IGatherNode, NoDelete>>(m, "IGatherNode");
  py::class_<IFakeQuantizeNode, INode, std::unique_ptr<IFakeQuantizeNode, NoDelete>>(m, "IFakeQuantizeNode");
}

// network.add_i_xxx_node(...): the C++ call, raising MixqError when it returns null.
template <typename Result, typename... Args>
auto Adder(Result* (INetwork::*method)(Args...)) {
  return [method](INetwork& network, Args... args) {
    return OrRaise(network, (network.*method)(std::forward<Args>(args)...));
  };
}

}  // namespace

void BindNetwork(py::module_& m) {
  py::class_<ITensor, std::unique_ptr<ITensor, py::nodelete>> tensor(
      m, "ITensor", "A value in a network: an input, a constant or a node output (owned by the network).");
  BindNodes(m);
  BindTensorMethods(tensor);
  py::class_<INetwork>(m, "INetwork", "A network under construction. add_i_* methods raise MixqError on bad arguments.")
      .def(py::init(&CreateINetwork), "An empty network (C++: CreateINetwork()).")
      .def("add_i_input", Adder(&INetwork::AddIInput), py::arg("type"), py::arg("dims"), kInternal)
      .def("add_i_const_node", &AddConst, py::arg("type"), py::arg("dims"), py::arg("data"), kInternal,
           "A constant holding `data` (a numpy array of the type's dtype, copied).")
      .def(
          "add_i_const_node",
          [](INetwork& network, const py::array& data) {
            std::vector<int64_t> dims(data.shape(), data.shape() + data.ndim());
            return AddConst(network, DataTypeOfArray(data), Dims(dims), data);
          },
          py::arg("data"), kInternal, "A constant holding a copy of `data`; type and dims from the array.")
      .def("add_i_conv_node", Adder(&INetwork::AddIConvNode), py::arg("input"), py::arg("filter"),
           py::arg("bias").none(true), kInternal, "Filter layout OHWI by default; bias may be None.")
      .def("add_i_conv_transpose_2d_node", Adder(&INetwork::AddIConvTranspose2DNode), py::arg("input"),
           py::arg("filter"), py::arg("bias").none(true), kInternal)
      .def("add_i_max_pool_2d_node", Adder(&INetwork::AddIMaxPool2DNode), py::arg("input"),
           py::arg("return_index") = false, kInternal)
      .def("add_i_avg_pool_2d_node", Adder(&INetwork::AddIAvgPool2DNode), py::arg("input"), kInternal)
      .def("add_i_global_avg_pool_node", Adder(&INetwork::AddIGlobalAvgPoolNode), py::arg("input"), kInternal)
      .def("add_i_batch_norm_node", Adder(&INetwork::AddIBatchNormNode), py::arg("input"), py::arg("mean"),
           py::arg("variance"), py::arg("scale"), py::arg("bias"), kInternal)
      .def("add_i_activation_node", Adder(&INetwork::AddIActivationNode), py::arg("input"), py::arg("type"), kInternal)
      .def("add_i_elementwise_node", Adder(&INetwork::AddIElementwiseNode), py::arg("a"), py::arg("b"), py::arg("op"),
           kInternal)
      .def("add_i_unary_node", Adder(&INetwork::AddIUnaryNode), py::arg("input"), py::arg("op"), kInternal)
      .def("add_i_mat_mul_node", Adder(&INetwork::AddIMatMulNode), py::arg("a"), py::arg("b"), kInternal)
      .def("add_i_fully_connected_node", Adder(&INetwork::AddIFullyConnectedNode), py::arg("input"), py::arg("weight"),
           py::arg("bias").none(true), kInternal)
      .def("add_i_concat_node", Adder(&INetwork::AddIConcatNode), py::arg("inputs"), py::arg("axis"), kInternal)
      .def("add_i_split_node", Adder(&INetwork::AddISplitNode), py::arg("input"), py::arg("axis"), py::arg("sizes"),
           kInternal)
      .def("add_i_slice_node", Adder(&INetwork::AddISliceNode), py::arg("input"), py::arg("starts"), py::arg("ends"),
           py::arg("axes"), py::arg("steps"), kInternal)
      .def("add_i_reshape_node", Adder(&INetwork::AddIReshapeNode), py::arg("input"), py::arg("shape"), kInternal)
      .def("add_i_flatten_node", Adder(&INetwork::AddIFlattenNode), py::arg("input"), py::arg("axis"), kInternal)
      .def("add_i_permute_node", Adder(&INetwork::AddIPermuteNode), py::arg("input"), py::arg("perm"), kInternal)
      .def("add_i_squeeze_node", Adder(&INetwork::AddISqueezeNode), py::arg("input"), py::arg("axes"), kInternal)
      .def("add_i_unsqueeze_node", Adder(&INetwork::AddIUnsqueezeNode), py::arg("input"), py::arg("axes"), kInternal)
      .def("add_i_pad_node", Adder(&INetwork::AddIPadNode), py::arg("input"), py::arg("pads"), py::arg("mode"),
           kInternal)
      .def("add_i_resize_node", Adder(&INetwork::AddIResizeNode), py::arg("input"), py::arg("scales"), py::arg("mode"),
           kInternal)
      .def("add_i_softmax_node", Adder(&INetwork::AddISoftmaxNode), py::arg("input"), py::arg("axis"), kInternal)
      .def("add_i_layer_norm_node", Adder(&INetwork::AddILayerNormNode), py::arg("input"), py::arg("scale"),
           py::arg("bias").none(true), py::arg("axis"), kInternal)
      .def("add_i_reduce_node", Adder(&INetwork::AddIReduceNode), py::arg("input"), py::arg("op"), py::arg("axes"),
           py::arg("keep_dims"), kInternal)
      .def("add_i_cast_node", Adder(&INetwork::AddICastNode), py::arg("input"), py::arg("to"), kInternal)
      .def("add_i_gather_node", Adder(&INetwork::AddIGatherNode), py::arg("data"), py::arg("indices"), py::arg("axis"),
           kInternal)
      .def("add_i_fake_quantize_node", Adder(&INetwork::AddIFakeQuantizeNode), py::arg("input"), py::arg("params"),
           kInternal)
      .def("mark_output", Checked(&INetwork::MarkOutput), py::arg("tensor"))
      .def("get_input_count", &INetwork::GetInputCount)
      .def("get_input", &INetwork::GetInput, py::arg("index"), kInternal)
      .def("get_output_count", &INetwork::GetOutputCount)
      .def("get_output", &INetwork::GetOutput, py::arg("index"), kInternal)
      .def("find_node_by_name", &INetwork::FindNodeByName, py::arg("name"), kInternal, "None if there is none.")
      .def("find_tensor_by_name", &INetwork::FindTensorByName, py::arg("name"), kInternal, "None if there is none.")
      .def("get_all_nodes", &INetwork::GetAllNodes, kInternal)
      .def("get_last_status", &INetwork::GetLastStatus)
      .def("verify", Checked(&INetwork::Verify),
           "Checks the whole network and infers every tensor's dims; raises naming the first node at fault.");
  m.def("create_i_network", &CreateINetwork, "An empty network (same as INetwork()).");
}

}  // namespace mixq::python
