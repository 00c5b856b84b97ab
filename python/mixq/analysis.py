"""Layer-wise accuracy analysis from numpy samples (docs/accuracy.md)."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from ._mixq import AccuracyAnalysis, IBuilderConfig, INetwork, analyze_accuracy
from .convenience import ArrayCalibData, Sample, _SampleFeed


def analyze(network: INetwork, samples: Iterable[Sample], config: Optional[IBuilderConfig] = None,
            max_samples: int = -1, isolated: bool = True, num_threads: int = 0,
            progress: Optional[Callable[[int, int, str], None]] = None) -> AccuracyAnalysis:
    """Compares ``network`` built with ``config`` against its float32 build on ``samples``.

    ``samples`` as for :func:`calibrate` (arrays, dicts by input name, or
    tuples; a list, since it is read once plus once per analysed operator).
    The network needs its ranges already (calibrate it first). Returns an
    :class:`AccuracyAnalysis`: ``accumulated`` per tensor, ``ranking`` of the
    operators by the network-output SQNR they cause alone, ``to_json()``.
    """
    inputs = [network.get_input(i) for i in range(network.get_input_count())]
    feed = _SampleFeed(samples, [t.get_tensor_name() for t in inputs])
    data = [ArrayCalibData(feed, t.get_data_type(), input_index=i, leader=(i == 0)) for i, t in enumerate(inputs)]
    return analyze_accuracy(network, data, config, max_samples=max_samples, isolated=isolated,
                            num_threads=num_threads, progress=progress)
