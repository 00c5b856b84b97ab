"""A runner shaped like ``onnxruntime.InferenceSession``.

Porting ONNX Runtime code is one line::

    session = ort.InferenceSession("model.onnx")   # before
    session = mixq.Session("model.mixq")           # after (or a .onnx file, built in float32)
    outputs = session.run(None, {"x": x})
"""
from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from ._mixq import ContextOptions, DataType, IContext, IModel, StatusCode, numpy_dtype
from .convenience import _error, quantize


class TensorInfo(NamedTuple):
    """What ``get_inputs()`` / ``get_outputs()`` return (like ORT's NodeArg): name, shape (None where dynamic), type."""

    name: str
    shape: List[Optional[int]]
    type: DataType

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the arrays this tensor takes or gives."""
        return numpy_dtype(self.type)


class Session:
    """Runs a built model on dicts of numpy arrays.

    ``model``: a path to a ``.mixq`` file, a path to a ``.onnx`` file (built
    with ``precision_mode``, float32 by default), serialized model bytes, or an
    :class:`IModel`. ``options``: a :class:`ContextOptions`, or its fields as
    keyword arguments (``force_reference=True``). One engine is shared by all
    threads; each thread gets its own context, so ``run`` may be called from
    several threads at once. ``providers`` is accepted for ONNX Runtime
    compatibility and ignored (mixq runs on the CPU).
    """

    def __init__(self, model: Union[str, os.PathLike, bytes, IModel], options: Optional[ContextOptions] = None,
                 precision_mode: str = "force_float32", providers: Optional[Sequence[Any]] = None,
                 **option_fields: Any):
        del providers
        self._model = _load(model, precision_mode)
        self._engine = self._model.create_i_engine()
        self._options = options if options is not None else ContextOptions(**option_fields)
        self._local = threading.local()
        self._input_names = self._engine.get_input_names()
        self._output_names = self._engine.get_output_names()

    @property
    def model(self) -> IModel:
        return self._model

    def get_inputs(self) -> List[TensorInfo]:
        types = self._engine.get_input_data_types()
        dims = self._engine.get_input_dimensions()
        return [TensorInfo(n, [d if d >= 0 else None for d in dims[i]], types[i]) for i, n in enumerate(self._input_names)]

    def get_outputs(self) -> List[TensorInfo]:
        types = self._engine.get_output_data_types()
        shapes = self._model.get_output_dimensions()
        return [TensorInfo(n, [d if d >= 0 else None for d in shapes[i]], types[i])
                for i, n in enumerate(self._output_names)]

    def precision_report(self) -> List[Dict[str, Any]]:
        """The precision report, one dict per node."""
        return self._model.get_precision_report_rows()

    def run(self, output_names: Optional[Sequence[str]], input_feed: Mapping[str, np.ndarray],
            run_options: Any = None) -> List[np.ndarray]:
        """The outputs named in ``output_names`` (None: all, in model order) for ``input_feed`` ({name: array})."""
        del run_options
        unknown = [name for name in input_feed if name not in self._input_names]
        missing = [name for name in self._input_names if name not in input_feed]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"unknown input name(s) {', '.join(map(repr, unknown))}")
            if missing:
                parts.append(f"missing input(s) {', '.join(map(repr, missing))}")
            raise _error(StatusCode.INVALID_ARGUMENT,
                         f"Session.run: {'; '.join(parts)} (the model takes {', '.join(self._input_names)})")
        wanted = list(self._output_names) if output_names is None else list(output_names)
        for name in wanted:
            if name not in self._output_names:
                raise _error(StatusCode.NOT_FOUND, f"Session.run: no output named {name!r} "
                                                   f"(the model gives {', '.join(self._output_names)})")
        results = self._context().enqueue([np.asarray(input_feed[name]) for name in self._input_names])
        by_name = dict(zip(self._output_names, results))
        return [by_name[name] for name in wanted]

    def _context(self) -> IContext:
        context = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = self._engine.create_i_context(self._options)
        return context


def _load(model: Union[str, os.PathLike, bytes, IModel], precision_mode: str) -> IModel:
    if isinstance(model, IModel):
        return model
    loaded = IModel()
    if isinstance(model, (bytes, bytearray)):
        loaded.deserialize_from_memory(bytes(model))
        return loaded
    path = os.fspath(model)
    if path.lower().endswith(".onnx"):
        return quantize(path, None, precision_mode=precision_mode)
    loaded.deserialize_from_file(path)
    return loaded
