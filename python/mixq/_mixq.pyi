"""
mixq's C++ API (mixed-precision inference), names in snake_case.
"""
from __future__ import annotations
from mixq import MixqError
import numpy
import typing
__all__: list[str] = ['AccuracyAnalysis', 'ActivationType', 'CalibDataInterface', 'ContextOptions', 'DataType', 'Dims', 'ElementwiseOp', 'IActivationNode', 'IAvgPool2DNode', 'IBatchNormNode', 'IBuilder', 'IBuilderConfig', 'ICalibrator', 'ICastNode', 'IConcatNode', 'IConstNode', 'IContext', 'IConvNode', 'IConvTranspose2DNode', 'IElementwiseNode', 'IEngine', 'IFakeQuantizeNode', 'IFlattenNode', 'IFullyConnectedNode', 'IGatherNode', 'IGlobalAvgPoolNode', 'ILayerNormNode', 'IMatMulNode', 'IMaxPool2DNode', 'IModel', 'INetwork', 'INode', 'IPadNode', 'IParser', 'IPermuteNode', 'IPool2DNode', 'IReduceNode', 'IReshapeNode', 'IResizeNode', 'ISliceNode', 'ISoftmaxNode', 'ISplitNode', 'ISqueezeNode', 'ITensor', 'IUnaryNode', 'IUnsqueezeNode', 'Layout', 'MixqError', 'ModelKind', 'OperatorImpact', 'PadMode', 'PaddingMode', 'QuantizationAlgorithm', 'QuantizationParameters', 'Range', 'ReduceOp', 'ResizeMode', 'Status', 'StatusCode', 'TensorError', 'TuneCandidate', 'TuneComparison', 'TuneResult', 'UnaryOp', 'analyze_accuracy', 'create_i_builder', 'create_i_builder_config', 'create_i_calibrator', 'create_i_model', 'create_i_network', 'create_i_parser', 'data_type_name', 'data_type_size', 'numpy_dtype', 'parse_data_type', 'quantization_algorithm_name', 'tune_precision']
class DataType:
    """
    Element types; QINT8 / QINT16 are quantized compute precisions.
    
    Members:
    
      FLOAT32
    
      FLOAT16
    
      BFLOAT16
    
      INT8
    
      INT16
    
      INT32
    
      INT64
    
      UINT8
    
      BOOL
    
      QINT8
    
      QINT16
    """
    BFLOAT16: typing.ClassVar[DataType]
    BOOL: typing.ClassVar[DataType]
    FLOAT16: typing.ClassVar[DataType]
    FLOAT32: typing.ClassVar[DataType]
    INT16: typing.ClassVar[DataType]
    INT32: typing.ClassVar[DataType]
    INT64: typing.ClassVar[DataType]
    INT8: typing.ClassVar[DataType]
    QINT16: typing.ClassVar[DataType]
    QINT8: typing.ClassVar[DataType]
    UINT8: typing.ClassVar[DataType]
    __members__: typing.ClassVar[dict[str, DataType]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class StatusCode:
    """
    Members:
    
      OK
    
      INVALID_ARGUMENT
    
      OUT_OF_RANGE
    
      NOT_FOUND
    
      UNIMPLEMENTED
    
      FAILED_PRECONDITION
    
      DATA_LOSS
    
      INTERNAL
    """
    DATA_LOSS: typing.ClassVar[StatusCode]
    FAILED_PRECONDITION: typing.ClassVar[StatusCode]
    INTERNAL: typing.ClassVar[StatusCode]
    INVALID_ARGUMENT: typing.ClassVar[StatusCode]
    NOT_FOUND: typing.ClassVar[StatusCode]
    OK: typing.ClassVar[StatusCode]
    OUT_OF_RANGE: typing.ClassVar[StatusCode]
    UNIMPLEMENTED: typing.ClassVar[StatusCode]
    __members__: typing.ClassVar[dict[str, StatusCode]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Status:
    """
    Result of a call that can fail. Python methods of the API raise MixqError instead of
    returning a failed Status; a CalibDataInterface's next() and reset() return one.
    """
    @staticmethod
    def OK() -> Status:
        """
        An OK status.
        """
    @typing.overload
    def __eq__(self, arg0: StatusCode) -> bool:
        ...
    @typing.overload
    def __eq__(self, arg0: Status) -> bool:
        ...
    def __hash__(self) -> int:
        ...
    @typing.overload
    def __init__(self) -> None:
        """
        An OK status.
        """
    @typing.overload
    def __init__(self, code: StatusCode, message: str = '') -> None:
        ...
    def __repr__(self) -> str:
        ...
    def code(self) -> StatusCode:
        ...
    def message(self) -> str:
        ...
    def ok(self) -> bool:
        ...
    def to_string(self) -> str:
        """
        'INVALID_ARGUMENT: message' or 'OK'.
        """
class Dims:
    """
    Tensor dimensions; -1 marks a dimension only known at run time.
    """
    __hash__: typing.ClassVar[None] = None
    @typing.overload
    def __eq__(self, arg0: Dims) -> bool:
        ...
    @typing.overload
    def __eq__(self, arg0: list[int]) -> bool:
        ...
    def __getitem__(self, arg0: int) -> int:
        ...
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, dims: list[int]) -> None:
        ...
    def __iter__(self) -> typing.Iterator:
        ...
    def __len__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def get_dim_value(self, arg0: int) -> int:
        ...
    def get_dims(self) -> list[int]:
        """
        The dims as a list.
        """
    def get_dims_num(self) -> int:
        ...
    def get_element_count(self) -> int:
        """
        Product of the dims; -1 if any is dynamic.
        """
    def has_dynamic_dim(self) -> bool:
        ...
    def set_dim_value(self, arg0: int, arg1: int) -> None:
        ...
    def to_string(self) -> str:
        ...
class Range:
    """
    A closed interval [min, max] of real values.
    """
    max: float
    min: float
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, min: float, max: float) -> None:
        ...
    def __repr__(self) -> str:
        ...
class QuantizationParameters:
    """
    Exact scales and zero points (a QAT model's); per axis when axis >= 0.
    """
    axis: int
    bits: int
    scales: list[float]
    zero_points: list[int]
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, bits: int, scales: list[float], zero_points: list[int], axis: int = -1) -> None:
        ...
class Layout:
    """
    Members:
    
      NCHW
    
      NHWC
    
      OIHW
    
      OHWI
    
      HWCN
    """
    HWCN: typing.ClassVar[Layout]
    NCHW: typing.ClassVar[Layout]
    NHWC: typing.ClassVar[Layout]
    OHWI: typing.ClassVar[Layout]
    OIHW: typing.ClassVar[Layout]
    __members__: typing.ClassVar[dict[str, Layout]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class PaddingMode:
    """
    Members:
    
      EXPLICIT
    
      SAME
    
      SAME_UPPER
    
      SAME_LOWER
    
      VALID
    """
    EXPLICIT: typing.ClassVar[PaddingMode]
    SAME: typing.ClassVar[PaddingMode]
    SAME_LOWER: typing.ClassVar[PaddingMode]
    SAME_UPPER: typing.ClassVar[PaddingMode]
    VALID: typing.ClassVar[PaddingMode]
    __members__: typing.ClassVar[dict[str, PaddingMode]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ActivationType:
    """
    Members:
    
      RELU
    
      RELU6
    
      CLIP
    
      LEAKY_RELU
    
      SIGMOID
    
      TANH
    
      HARD_SIGMOID
    
      HARD_SWISH
    
      SILU
    
      GELU_ERF
    
      GELU_TANH
    """
    CLIP: typing.ClassVar[ActivationType]
    GELU_ERF: typing.ClassVar[ActivationType]
    GELU_TANH: typing.ClassVar[ActivationType]
    HARD_SIGMOID: typing.ClassVar[ActivationType]
    HARD_SWISH: typing.ClassVar[ActivationType]
    LEAKY_RELU: typing.ClassVar[ActivationType]
    RELU: typing.ClassVar[ActivationType]
    RELU6: typing.ClassVar[ActivationType]
    SIGMOID: typing.ClassVar[ActivationType]
    SILU: typing.ClassVar[ActivationType]
    TANH: typing.ClassVar[ActivationType]
    __members__: typing.ClassVar[dict[str, ActivationType]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ElementwiseOp:
    """
    Members:
    
      ADD
    
      SUB
    
      MUL
    
      DIV
    
      POW
    
      MAX
    
      MIN
    """
    ADD: typing.ClassVar[ElementwiseOp]
    DIV: typing.ClassVar[ElementwiseOp]
    MAX: typing.ClassVar[ElementwiseOp]
    MIN: typing.ClassVar[ElementwiseOp]
    MUL: typing.ClassVar[ElementwiseOp]
    POW: typing.ClassVar[ElementwiseOp]
    SUB: typing.ClassVar[ElementwiseOp]
    __members__: typing.ClassVar[dict[str, ElementwiseOp]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class UnaryOp:
    """
    Members:
    
      SQRT
    
      EXP
    
      LOG
    
      ABS
    
      NEG
    
      ERF
    
      RECIPROCAL
    """
    ABS: typing.ClassVar[UnaryOp]
    ERF: typing.ClassVar[UnaryOp]
    EXP: typing.ClassVar[UnaryOp]
    LOG: typing.ClassVar[UnaryOp]
    NEG: typing.ClassVar[UnaryOp]
    RECIPROCAL: typing.ClassVar[UnaryOp]
    SQRT: typing.ClassVar[UnaryOp]
    __members__: typing.ClassVar[dict[str, UnaryOp]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ReduceOp:
    """
    Members:
    
      MEAN
    
      SUM
    
      MAX
    
      MIN
    """
    MAX: typing.ClassVar[ReduceOp]
    MEAN: typing.ClassVar[ReduceOp]
    MIN: typing.ClassVar[ReduceOp]
    SUM: typing.ClassVar[ReduceOp]
    __members__: typing.ClassVar[dict[str, ReduceOp]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class PadMode:
    """
    Members:
    
      CONSTANT
    
      REFLECT
    
      EDGE
    """
    CONSTANT: typing.ClassVar[PadMode]
    EDGE: typing.ClassVar[PadMode]
    REFLECT: typing.ClassVar[PadMode]
    __members__: typing.ClassVar[dict[str, PadMode]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ResizeMode:
    """
    Members:
    
      NEAREST
    
      LINEAR
    """
    LINEAR: typing.ClassVar[ResizeMode]
    NEAREST: typing.ClassVar[ResizeMode]
    __members__: typing.ClassVar[dict[str, ResizeMode]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class QuantizationAlgorithm:
    """
    Members:
    
      LINEAR
    
      EQNM
    
      ENTROPY
    
      PERCENTILE
    
      AUTO
    """
    AUTO: typing.ClassVar[QuantizationAlgorithm]
    ENTROPY: typing.ClassVar[QuantizationAlgorithm]
    EQNM: typing.ClassVar[QuantizationAlgorithm]
    LINEAR: typing.ClassVar[QuantizationAlgorithm]
    PERCENTILE: typing.ClassVar[QuantizationAlgorithm]
    __members__: typing.ClassVar[dict[str, QuantizationAlgorithm]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ModelKind:
    """
    Members:
    
      ONNX
    """
    ONNX: typing.ClassVar[ModelKind]
    __members__: typing.ClassVar[dict[str, ModelKind]]
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: int) -> None:
        ...
    def __int__(self) -> int:
        ...
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: int) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class ITensor:
    """
    A value in a network: an input, a constant or a node output (owned by the network).
    """
    def __repr__(self) -> str:
        ...
    def get_data_type(self) -> DataType:
        ...
    def get_dimension(self) -> Dims:
        ...
    def get_dynamic_range(self) -> Range:
        ...
    def get_dynamic_range_per_axis(self) -> list[Range]:
        ...
    def get_producer(self) -> INode:
        """
        The producing node; None for a network input.
        """
    def get_quantization_parameters(self) -> typing.Any:
        """
        The exact quantization parameters, or None when none were set.
        """
    def get_tensor_name(self) -> str:
        ...
    def has_dynamic_range(self) -> bool:
        ...
    def set_data_type(self, type: DataType) -> None:
        """
        Only for network inputs.
        """
    def set_dimension(self, dims: Dims) -> None:
        """
        Only for network inputs.
        """
    def set_dynamic_range(self, range: Range, force: bool = True) -> None:
        """
        The range this tensor is quantized with; force=True wins over calibration.
        """
    def set_dynamic_range_per_axis(self, ranges: list[Range], force: bool = True) -> None:
        ...
    def set_quantization_parameters(self, params: QuantizationParameters) -> None:
        ...
    def set_tensor_name(self, name: str) -> None:
        ...
class INode:
    """
    An operator instance (owned by the network).
    """
    def __repr__(self) -> str:
        ...
    def get_input(self, index: int) -> ITensor:
        """
        None for an index out of range.
        """
    def get_input_count(self) -> int:
        ...
    def get_node_name(self) -> str:
        ...
    def get_op_type(self) -> str:
        ...
    def get_output(self, index: int) -> ITensor:
        """
        None for an index out of range.
        """
    def get_output_count(self) -> int:
        ...
    def get_output_type(self, index: int) -> DataType | None:
        """
        What set_output_type set, or None.
        """
    def get_precision(self, index: int) -> DataType | None:
        """
        What set_precision set, or None.
        """
    @typing.overload
    def set_attr(self, name: str, value: str) -> None:
        ...
    @typing.overload
    def set_attr(self, name: str, value: int) -> None:
        ...
    @typing.overload
    def set_attr(self, name: str, value: float) -> None:
        ...
    @typing.overload
    def set_attr(self, name: str, value: list[int]) -> None:
        ...
    @typing.overload
    def set_attr(self, name: str, value: list[float]) -> None:
        """
        Generic attribute access; names per operator in docs/operators.md.
        """
    def set_node_name(self, name: str) -> None:
        ...
    def set_output_type(self, index: int, type: DataType) -> None:
        """
        The data type output `index` is produced in; overrides the network-level mode.
        """
    def set_precision(self, index: int, precision: DataType) -> None:
        """
        The precision input `index` is consumed in; overrides the network-level mode.
        """
class IConstNode(INode):
    pass
class IConvNode(INode):
    def set_dilation(self, h: int, w: int) -> None:
        ...
    def set_group(self, group: int) -> None:
        ...
    def set_layout(self, input: Layout, filter: Layout, output: Layout) -> None:
        ...
    def set_pad(self, top: int, bottom: int, left: int, right: int) -> None:
        ...
    def set_padding_mode(self, mode: PaddingMode) -> None:
        ...
    def set_stride(self, h: int, w: int) -> None:
        ...
class IConvTranspose2DNode(IConvNode):
    def set_output_padding(self, h: int, w: int) -> None:
        ...
class IPool2DNode(INode):
    def set_ceil_mode(self, ceil_mode: bool) -> None:
        ...
    def set_kernel(self, h: int, w: int) -> None:
        ...
    def set_layout(self, layout: Layout) -> None:
        ...
    def set_pad(self, top: int, bottom: int, left: int, right: int) -> None:
        ...
    def set_padding_mode(self, mode: PaddingMode) -> None:
        ...
    def set_stride(self, h: int, w: int) -> None:
        ...
class IMaxPool2DNode(IPool2DNode):
    def set_dilation(self, h: int, w: int) -> None:
        ...
class IAvgPool2DNode(IPool2DNode):
    def set_count_include_pad(self, include: bool) -> None:
        ...
class IGlobalAvgPoolNode(INode):
    def set_layout(self, layout: Layout) -> None:
        ...
class IBatchNormNode(INode):
    def set_axis(self, axis: int) -> None:
        ...
    def set_epsilon(self, epsilon: float) -> None:
        ...
class IActivationNode(INode):
    def set_alpha(self, alpha: float) -> None:
        ...
    def set_beta(self, beta: float) -> None:
        ...
class IMatMulNode(INode):
    def set_transpose_a(self, transpose: bool) -> None:
        ...
    def set_transpose_b(self, transpose: bool) -> None:
        ...
class IFullyConnectedNode(INode):
    def set_alpha(self, alpha: float) -> None:
        ...
    def set_beta(self, beta: float) -> None:
        ...
    def set_transpose_a(self, transpose: bool) -> None:
        ...
    def set_transpose_b(self, transpose: bool) -> None:
        ...
class IPadNode(INode):
    def set_value(self, value: float) -> None:
        ...
class IResizeNode(INode):
    def set_coordinate_transform_mode(self, mode: str) -> None:
        ...
    def set_nearest_mode(self, mode: str) -> None:
        ...
class ILayerNormNode(INode):
    def set_epsilon(self, epsilon: float) -> None:
        ...
class IElementwiseNode(INode):
    pass
class IUnaryNode(INode):
    pass
class IConcatNode(INode):
    pass
class ISplitNode(INode):
    pass
class ISliceNode(INode):
    pass
class IReshapeNode(INode):
    pass
class IFlattenNode(INode):
    pass
class IPermuteNode(INode):
    pass
class ISqueezeNode(INode):
    pass
class IUnsqueezeNode(INode):
    pass
class ISoftmaxNode(INode):
    pass
class IReduceNode(INode):
    pass
class ICastNode(INode):
    pass
class IGatherNode(INode):
    pass
class IFakeQuantizeNode(INode):
    pass
class INetwork:
    """
    A network under construction. add_i_* methods raise MixqError on bad arguments.
    """
    def __init__(self) -> None:
        """
        An empty network (C++: CreateINetwork()).
        """
    def add_i_activation_node(self, input: ITensor, type: ActivationType) -> IActivationNode:
        ...
    def add_i_avg_pool_2d_node(self, input: ITensor) -> IAvgPool2DNode:
        ...
    def add_i_batch_norm_node(self, input: ITensor, mean: ITensor, variance: ITensor, scale: ITensor, bias: ITensor) -> IBatchNormNode:
        ...
    def add_i_cast_node(self, input: ITensor, to: DataType) -> ICastNode:
        ...
    def add_i_concat_node(self, inputs: list[ITensor], axis: int) -> IConcatNode:
        ...
    @typing.overload
    def add_i_const_node(self, type: DataType, dims: Dims, data: numpy.ndarray) -> IConstNode:
        """
        A constant holding `data` (a numpy array of the type's dtype, copied).
        """
    @typing.overload
    def add_i_const_node(self, data: numpy.ndarray) -> IConstNode:
        """
        A constant holding a copy of `data`; type and dims from the array.
        """
    def add_i_conv_node(self, input: ITensor, filter: ITensor, bias: ITensor) -> IConvNode:
        """
        Filter layout OHWI by default; bias may be None.
        """
    def add_i_conv_transpose_2d_node(self, input: ITensor, filter: ITensor, bias: ITensor) -> IConvTranspose2DNode:
        ...
    def add_i_elementwise_node(self, a: ITensor, b: ITensor, op: ElementwiseOp) -> IElementwiseNode:
        ...
    def add_i_fake_quantize_node(self, input: ITensor, params: QuantizationParameters) -> IFakeQuantizeNode:
        ...
    def add_i_flatten_node(self, input: ITensor, axis: int) -> IFlattenNode:
        ...
    def add_i_fully_connected_node(self, input: ITensor, weight: ITensor, bias: ITensor) -> IFullyConnectedNode:
        ...
    def add_i_gather_node(self, data: ITensor, indices: ITensor, axis: int) -> IGatherNode:
        ...
    def add_i_global_avg_pool_node(self, input: ITensor) -> IGlobalAvgPoolNode:
        ...
    def add_i_input(self, type: DataType, dims: Dims) -> ITensor:
        ...
    def add_i_layer_norm_node(self, input: ITensor, scale: ITensor, bias: ITensor, axis: int) -> ILayerNormNode:
        ...
    def add_i_mat_mul_node(self, a: ITensor, b: ITensor) -> IMatMulNode:
        ...
    def add_i_max_pool_2d_node(self, input: ITensor, return_index: bool = False) -> IMaxPool2DNode:
        ...
    def add_i_pad_node(self, input: ITensor, pads: list[int], mode: PadMode) -> IPadNode:
        ...
    def add_i_permute_node(self, input: ITensor, perm: list[int]) -> IPermuteNode:
        ...
    def add_i_reduce_node(self, input: ITensor, op: ReduceOp, axes: list[int], keep_dims: bool) -> IReduceNode:
        ...
    def add_i_reshape_node(self, input: ITensor, shape: Dims) -> IReshapeNode:
        ...
    def add_i_resize_node(self, input: ITensor, scales: list[float], mode: ResizeMode) -> IResizeNode:
        ...
    def add_i_slice_node(self, input: ITensor, starts: list[int], ends: list[int], axes: list[int], steps: list[int]) -> ISliceNode:
        ...
    def add_i_softmax_node(self, input: ITensor, axis: int) -> ISoftmaxNode:
        ...
    def add_i_split_node(self, input: ITensor, axis: int, sizes: list[int]) -> ISplitNode:
        ...
    def add_i_squeeze_node(self, input: ITensor, axes: list[int]) -> ISqueezeNode:
        ...
    def add_i_unary_node(self, input: ITensor, op: UnaryOp) -> IUnaryNode:
        ...
    def add_i_unsqueeze_node(self, input: ITensor, axes: list[int]) -> IUnsqueezeNode:
        ...
    def find_node_by_name(self, name: str) -> INode:
        """
        None if there is none.
        """
    def find_tensor_by_name(self, name: str) -> ITensor:
        """
        None if there is none.
        """
    def get_all_nodes(self) -> list[INode]:
        ...
    def get_input(self, index: int) -> ITensor:
        ...
    def get_input_count(self) -> int:
        ...
    def get_last_status(self) -> Status:
        ...
    def get_output(self, index: int) -> ITensor:
        ...
    def get_output_count(self) -> int:
        ...
    def mark_output(self, tensor: ITensor) -> None:
        ...
    def verify(self) -> None:
        """
        Checks the whole network and infers every tensor's dims; raises naming the first node at fault.
        """
class IParser:
    """
    Fills an empty INetwork from a model file (ONNX).
    """
    def __init__(self, kind: ModelKind = ...) -> None:
        ...
    def parse(self, network: INetwork, path: str) -> None:
        """
        External data files are looked up beside the model file.
        """
    def parse_from_memory(self, network: INetwork, data: bytes, base_dir: str = '') -> None:
        """
        `base_dir` is where external data files are looked up ('' = none allowed).
        """
    def set_input_shape(self, input_name: str, dims: Dims) -> None:
        """
        Overrides a graph input's dims before parsing (for example a batch of 1).
        """
class ContextOptions:
    """
    Options for a context, e.g. ContextOptions(force_reference=True).
    """
    def __init__(self, **kwargs) -> None:
        """
        Fields given by keyword; the others keep their C++ defaults.
        """
    def __repr__(self) -> str:
        ...
    @property
    def force_reference(self) -> bool:
        """
        Run every operator on its reference kernel (the oracle), with no fusion.
        """
    @force_reference.setter
    def force_reference(self, arg0: bool) -> None:
        ...
    @property
    def max_activation_bytes(self) -> int:
        """
        Most bytes of activation memory one set of input shapes may plan (<= 0: no limit).
        """
    @max_activation_bytes.setter
    def max_activation_bytes(self, arg0: int) -> None:
        ...
    @property
    def max_isa(self) -> str:
        """
        Caps the instruction set of mixq's own kernels: '' (the CPU's), 'generic', 'avx2', 'avx512', 'avx512_vnni', 'amx'.
        """
    @max_isa.setter
    def max_isa(self, arg0: str) -> None:
        ...
    @property
    def num_threads(self) -> int:
        """
        Threads one inference may use (0: OMP_NUM_THREADS, else every core; 1 to 1024).
        """
    @num_threads.setter
    def num_threads(self, arg0: int) -> None:
        ...
    @property
    def profile(self) -> bool:
        """
        Time every step of every run for get_profile (one clock read per step).
        """
    @profile.setter
    def profile(self, arg0: bool) -> None:
        ...
class IContext:
    """
    Per-thread execution state; one thread at a time.
    """
    def enqueue(self, inputs: list[numpy.ndarray]) -> list[numpy.ndarray]:
        """
        Runs the model on one numpy array per input (in input order); returns one array per output.
        Inputs are read in place when C-ordered; outputs are the engine's buffers, not copies.
        The GIL is released while the model runs.
        """
    def get_activation_bytes(self) -> int:
        ...
    def get_execution_plan(self, as_json: bool = False) -> typing.Any:
        """
        The execution plan prepared last: steps, kernels, storage types, fused nodes, buffer and weight bytes (a table, or a dict with as_json=True).
        """
    def get_precision_report(self) -> str:
        """
        The precision report read from the plan prepared last (kernels as they run, storage of each output).
        """
    def get_precision_report_json(self) -> str:
        ...
    def get_precision_report_rows(self) -> typing.Any:
        """
        The plan's precision report as a list of dicts, one per node (kernel, fused_into, storage per output).
        """
    def get_profile(self, as_json: bool = False) -> typing.Any:
        """
        With ContextOptions.profile: mean time per step of the plan (node, op, kernel, storage) and per operator type over the runs since the last prepare (the first left out once there are others), heaviest first (a table, or a dict with as_json=True).
        """
    def infer_output_shape(self, input_dims: list[Dims]) -> list[Dims]:
        ...
    def prepare(self, input_dims: list[Dims]) -> None:
        """
        Lowers the model to an execution plan for these input dims without running it.
        """
class IEngine:
    """
    The executable form of a model; shareable across threads.
    """
    def create_i_context(self, options: ContextOptions = ...) -> IContext:
        ...
    def get_input_data_types(self) -> list[DataType]:
        ...
    def get_input_dimensions(self) -> list[Dims]:
        ...
    def get_input_names(self) -> list[str]:
        ...
    def get_output_data_types(self) -> list[DataType]:
        ...
    def get_output_names(self) -> list[str]:
        ...
    def get_prepared_weight_bytes(self) -> int:
        """
        Bytes of weights packed for the kernels, held once by the engine and shared by its contexts.
        """
class IModel:
    """
    A built model: precisions, quantization parameters and weights.
    """
    def __init__(self) -> None:
        """
        An empty model, to deserialize into.
        """
    def create_i_engine(self) -> IEngine:
        ...
    def deserialize_from_file(self, path: str) -> None:
        """
        The file is verified (magic, version, checksum, structure) first.
        """
    def deserialize_from_memory(self, data: bytes) -> None:
        ...
    def export_to_onnx(self, path: str) -> None:
        """
        Writes the model as ONNX with QDQ nodes carrying its scales and zero points.
        """
    def get_input_data_types(self) -> list[DataType]:
        ...
    def get_input_dimensions(self) -> list[Dims]:
        ...
    def get_input_names(self) -> list[str]:
        ...
    def get_input_num(self) -> int:
        ...
    def get_last_status(self) -> Status:
        ...
    def get_name(self) -> str:
        ...
    def get_output_data_types(self) -> list[DataType]:
        ...
    def get_output_dimensions(self) -> list[Dims]:
        ...
    def get_output_names(self) -> list[str]:
        ...
    def get_output_num(self) -> int:
        ...
    def get_precision_report(self) -> str:
        """
        The precision report as a table for people.
        """
    def get_precision_report_json(self) -> str:
        ...
    def get_precision_report_rows(self) -> typing.Any:
        """
        The precision report as a list of dicts, one per node: node, op, kernel, inputs and outputs
        (tensor, requested and actual precision, who requested it), fused, and why they differ.
        """
    def get_weight_bytes(self) -> int:
        ...
    def serialize_to_file(self, path: str) -> None:
        ...
    def serialize_to_memory(self) -> bytes:
        ...
class IBuilderConfig:
    """
    Build options from JSON, e.g. '{"precision_config": {"precision_mode": "qint8_mixed_float16"}}'.
    """
    def __init__(self) -> None:
        ...
    def parse_from_file(self, path: str) -> None:
        ...
    def parse_from_string(self, json: str) -> None:
        """
        Merges the keys of `json` into the configuration; unknown keys raise MixqError naming the key.
        """
    def to_json(self) -> str:
        """
        The whole configuration, every key with its value, as JSON.
        """
class IBuilder:
    def __init__(self) -> None:
        ...
    def build_model(self, name: str, network: INetwork, config: IBuilderConfig = None) -> IModel:
        """
        Builds a deployable model; config None means all defaults. Raises MixqError naming the node, tensor or key at fault.
        """
    def get_last_status(self) -> Status:
        ...
    def get_warnings(self) -> list[str]:
        """
        Warnings of the last successful build_model, one sentence each (e.g. a range that clips more than
        precision_config.clip_warning_percent of a tensor's calibration values).
        """
class TensorError:
    """
    Error of one tensor against float32 over all samples: sqnr_db (inf when exact), cosine,
    max_abs, relative_l2; elements counted, nonfinite left out.
    """
    def __repr__(self) -> str:
        ...
    @property
    def cosine(self) -> float:
        ...
    @property
    def elements(self) -> int:
        ...
    @property
    def max_abs(self) -> float:
        ...
    @property
    def node(self) -> str:
        ...
    @property
    def nonfinite(self) -> int:
        ...
    @property
    def op_type(self) -> str:
        ...
    @property
    def relative_l2(self) -> float:
        ...
    @property
    def sqnr_db(self) -> float:
        ...
    @property
    def tensor(self) -> str:
        ...
class OperatorImpact:
    """
    One analysed operator: its isolated error (only it quantized) and the error that
    causes at the network outputs; rank 1 is the most harmful.
    """
    @property
    def isolated(self) -> list[TensorError]:
        ...
    @property
    def network_output(self) -> TensorError:
        ...
    @property
    def node(self) -> str:
        ...
    @property
    def op_type(self) -> str:
        ...
    @property
    def precision(self) -> str:
        ...
    @property
    def rank(self) -> int:
        ...
    @property
    def worst_output_cosine(self) -> float:
        ...
class AccuracyAnalysis:
    """
    The result of analyze_accuracy: accumulated errors of every tensor, the outputs',
    and the operators ranked by isolated harm.
    """
    def __str__(self) -> str:
        ...
    def to_json(self) -> str:
        """
        The analysis as JSON (an infinite SQNR is null).
        """
    def to_string(self) -> str:
        """
        The ranking and the accumulated errors as tables.
        """
    @property
    def accumulated(self) -> list[TensorError]:
        ...
    @property
    def outputs(self) -> list[TensorError]:
        ...
    @property
    def precision_mode(self) -> str:
        ...
    @property
    def ranking(self) -> list[OperatorImpact]:
        ...
    @property
    def samples(self) -> int:
        ...
class TuneCandidate:
    """
    One plan tune_precision tried: the promoted nodes, the output SQNR, the lowest output
    cosine, the median latency and whether it met the target.
    """
    @property
    def latency_ms(self) -> float:
        ...
    @property
    def meets_target(self) -> bool:
        ...
    @property
    def metric(self) -> float:
        ...
    @property
    def node_precision(self) -> dict[str, str]:
        ...
    @property
    def output_cosine(self) -> float:
        ...
    @property
    def output_sqnr_db(self) -> float:
        ...
class TuneComparison:
    """
    prefer_faster's check of one variant: it and the best plan so far (their
    node_precision), timed in turn on the first sample, and whether it was kept: a
    variant that drops a promotion (dropped) when variant_ms <= best_ms, one that moves
    a promoted operator to another precision when variant_ms < 0.95 * best_ms.
    """
    @property
    def best(self) -> dict[str, str]:
        ...
    @property
    def best_ms(self) -> float:
        ...
    @property
    def dropped(self) -> bool:
        ...
    @property
    def kept(self) -> bool:
        ...
    @property
    def variant(self) -> dict[str, str]:
        ...
    @property
    def variant_ms(self) -> float:
        ...
class TuneResult:
    """
    The result of tune_precision: the chosen candidate, every candidate tried, the builder
    config JSON of the chosen one and why the search stopped.
    """
    @property
    def chosen(self) -> TuneCandidate:
        ...
    @property
    def comparisons(self) -> list[TuneComparison]:
        ...
    @property
    def config_json(self) -> str:
        ...
    @property
    def start_ms(self) -> dict[str, float]:
        ...
    @property
    def stop_reason(self) -> str:
        ...
    @property
    def target_met(self) -> bool:
        ...
    @property
    def trajectory(self) -> list[TuneCandidate]:
        ...
class CalibDataInterface:
    """
    Sample data for one network input; subclass it in Python and implement get_shape, get_data_type,
    next (a Status: OK, or OUT_OF_RANGE at the end), reset (a Status) and get_sample (a numpy array
    of get_shape() and get_data_type()'s dtype). get_sample_count is optional (-1: unknown).
    """
    def __init__(self) -> None:
        ...
class ICalibrator:
    """
    Runs the float network over the samples and records statistics (histograms) of every tensor the plan will quantize.
    """
    def __init__(self, data: typing.Any) -> None:
        """
        `data`: one CalibDataInterface per network input, in input order (or a single one).
        """
    def calibrate(self, network: INetwork, config: IBuilderConfig = None) -> None:
        """
        Runs the samples through the float network; an exception raised in a data interface's method
        propagates from here with its traceback.
        """
    def load_statistics(self, network: INetwork, path: str) -> None:
        ...
    def read_range_table(self, network: INetwork, path: str) -> None:
        ...
    def save_statistics(self, network: INetwork, path: str) -> None:
        ...
    def set_histogram_bins(self, bins: int) -> None:
        ...
    def set_progress_callback(self, callback: typing.Callable | None) -> None:
        """
        callback(done, total) after every sample, then for AUTO's output-aware search (0, N) ... (N, N) in candidate builds; None removes it.
        """
    def set_quantization_algorithm(self, algorithm: QuantizationAlgorithm, percentile: float = 99.99) -> None:
        """
        `percentile` (0, 100] is used by PERCENTILE only.
        """
    def write_range_table(self, network: INetwork, config: IBuilderConfig, path: str) -> None:
        """
        The ranges build_model would use with `config`, as an editable JSON table.
        """
def analyze_accuracy(network: INetwork, data: typing.Any, config: IBuilderConfig = None, max_samples: int = -1, isolated: bool = True, num_threads: int = 0, progress: typing.Callable | None = None, report_dir: str = '', report_title: str = '') -> AccuracyAnalysis:
    """
    Layer-wise error of `network` built with `config` against its float32 build, on the samples of
    `data` (one CalibDataInterface per input, e.g. ArrayCalibData; mixq.analyze takes numpy arrays):
    every tensor accumulated, and every operator the plan does not run in float32 isolated (only it
    quantized), ranked by the network-output SQNR it alone causes. progress(done, total, what).
    With report_dir, also writes the HTML report report_dir/index.html (docs/accuracy.md).
    """
def create_i_builder() -> IBuilder:
    ...
def create_i_builder_config() -> IBuilderConfig:
    ...
def create_i_calibrator(data: typing.Any) -> ICalibrator:
    """
    An ICalibrator over one CalibDataInterface per network input.
    """
def create_i_model() -> IModel:
    ...
def create_i_network() -> INetwork:
    """
    An empty network (same as INetwork()).
    """
def create_i_parser(kind: ModelKind = ...) -> IParser:
    ...
def data_type_name(type: DataType) -> str:
    """
    'FLOAT32', 'QINT8', ...
    """
def data_type_size(type: DataType) -> int:
    """
    Bytes one element occupies in memory.
    """
def numpy_dtype(type: DataType) -> numpy.dtype[typing.Any]:
    """
    The numpy dtype of a DataType's run-time data (BFLOAT16: uint16 bits; QINT8: int8).
    """
def parse_data_type(name: str) -> DataType:
    """
    The DataType named `name` (case-insensitive); raises MixqError if unknown.
    """
def quantization_algorithm_name(algorithm: QuantizationAlgorithm) -> str:
    ...
def tune_precision(network: INetwork, data: typing.Any, config: IBuilderConfig = None, min_cosine: float = 0.999, min_sqnr_db: float = -1e+300, time_budget_seconds: float = 600.0, max_samples: int = -1, latency_runs: int = 5, num_threads: int = 0, progress: typing.Callable | None = None, metric: typing.Callable | None = None, min_metric: float = 0.0, report_dir: str = '', report_title: str = '', prefer_faster: bool = True, start_modes: list[str] = []) -> TuneResult:
    """
    Promotes the operators that hurt the outputs most, one precision step at a time (qint8 -> qint16 ->
    float16 -> float32), until every output's cosine >= min_cosine and the SQNR >= min_sqnr_db (and
    metric(candidate_outputs, float32_outputs) >= min_metric, each a list per sample of {name: array});
    the result's config_json holds the promotions (precision_config.node_precision). With
    prefer_faster, each promotion is then taken back where the plan still meets the target and measures
    no slower, and each remaining promoted operator's other precisions are tried, keeping one that still
    meets the target and measures at least 5 % faster. start_modes: precision modes timed here in turn;
    the search starts from the fastest (result.start_ms has their times); empty: config's mode.
    progress(done, message) after every candidate (done 0: a start mode's time). With report_dir, also
    writes the HTML report
    report_dir/index.html with the trajectory of every candidate (docs/accuracy.md).
    """
__version__: str = '0.1.0'
