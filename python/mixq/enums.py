"""Enumerations, grouped as the seed's Python example names them (``enums.DataType``)."""
from ._mixq import (  # noqa: F401
    ActivationType,
    DataType,
    ElementwiseOp,
    Layout,
    ModelKind,
    PaddingMode,
    PadMode,
    QuantizationAlgorithm,
    ReduceOp,
    ResizeMode,
    StatusCode,
    UnaryOp,
)

__all__ = ["ActivationType", "DataType", "ElementwiseOp", "Layout", "ModelKind", "PaddingMode", "PadMode",
           "QuantizationAlgorithm", "ReduceOp", "ResizeMode", "StatusCode", "UnaryOp"]
