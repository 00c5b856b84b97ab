"""Basic value types, grouped as the seed's Python example names them (``basic_types.Dims``)."""
from ._mixq import Dims, QuantizationParameters, Range, Status, StatusCode  # noqa: F401

__all__ = ["Dims", "QuantizationParameters", "Range", "Status", "StatusCode"]
