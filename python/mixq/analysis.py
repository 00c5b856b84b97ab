"""Layer-wise accuracy analysis and precision tuning from numpy samples (docs/accuracy.md)."""
from __future__ import annotations

import os
from typing import Callable, Iterable, Optional, Sequence, Union

from ._mixq import AccuracyAnalysis, IBuilderConfig, INetwork, TuneResult, analyze_accuracy, tune_precision
from .convenience import ArrayCalibData, Sample, _SampleFeed


def _data_for(network: INetwork, samples: Iterable[Sample]) -> list:
    inputs = [network.get_input(i) for i in range(network.get_input_count())]
    feed = _SampleFeed(samples, [t.get_tensor_name() for t in inputs])
    return [ArrayCalibData(feed, t.get_data_type(), input_index=i, leader=(i == 0)) for i, t in enumerate(inputs)]


def analyze(network: INetwork, samples: Iterable[Sample], config: Optional[IBuilderConfig] = None,
            max_samples: int = -1, isolated: bool = True, num_threads: int = 0,
            progress: Optional[Callable[[int, int, str], None]] = None,
            report_dir: Optional[Union[str, os.PathLike]] = None, report_title: str = "") -> AccuracyAnalysis:
    """Compares ``network`` built with ``config`` against its float32 build on ``samples``.

    ``samples`` as for :func:`calibrate` (arrays, dicts by input name, or
    tuples; a list, since it is read once plus once per analysed operator).
    The network needs its ranges already (calibrate it first). Returns an
    :class:`AccuracyAnalysis`: ``accumulated`` per tensor, ``ranking`` of the
    operators by the network-output SQNR they cause alone, ``to_json()``.
    With ``report_dir``, also writes the HTML report ``report_dir/index.html``
    (error bars, the plan coloured by precision, the time per operator).
    """
    return analyze_accuracy(network, _data_for(network, samples), config, max_samples=max_samples, isolated=isolated,
                            num_threads=num_threads, progress=progress,
                            report_dir=os.fspath(report_dir) if report_dir is not None else "",
                            report_title=report_title)


def tune(network: INetwork, samples: Iterable[Sample], config: Optional[IBuilderConfig] = None,
         min_cosine: Optional[float] = None, min_sqnr_db: float = -1e300, time_budget_seconds: float = 600.0,
         max_samples: int = -1, progress: Optional[Callable[[int, str], None]] = None,
         metric: Optional[Callable[[list, list], float]] = None, min_metric: float = 0.0,
         report_dir: Optional[Union[str, os.PathLike]] = None, report_title: str = "",
         prefer_faster: bool = True, start_modes: Sequence[str] = ()) -> TuneResult:
    """Finds per-node precisions meeting an output target, starting from ``config``'s plan.

    ``samples`` as for :func:`analyze` (the network must be calibrated). The
    target: every output's cosine >= ``min_cosine`` (default 0.999, or none
    when a ``metric`` is given) and SQNR >= ``min_sqnr_db``; and, with
    ``metric(candidate, reference) -> float`` (each a list per sample of
    ``{output_name: array}``, e.g. top-1 agreement), ``metric >= min_metric``.
    Returns a :class:`TuneResult`; ``config_json`` is a builder config to save
    and build with. With ``report_dir``, also writes the HTML report
    ``report_dir/index.html``, the trajectory of every candidate included.
    With ``prefer_faster`` (default), once a plan meets the target each
    promotion is taken back where the plan still meets the target and
    measures no slower, then each remaining promoted operator's other
    precisions are tried, and one that still meets the target and measures
    at least 5 % faster is kept; ``False`` returns the first plan that meets
    it. ``start_modes`` (e.g. ``["qint8_mixed_float32",
    "qint8_mixed_float16"]``): each mode is timed here in turn and the search
    starts from the fastest (``result.start_ms``); empty: ``config``'s mode.
    """
    if min_cosine is None:
        min_cosine = -1.0 if metric is not None else 0.999
    return tune_precision(network, _data_for(network, samples), config, min_cosine=min_cosine,
                          min_sqnr_db=min_sqnr_db, time_budget_seconds=time_budget_seconds,
                          max_samples=max_samples, progress=progress, metric=metric, min_metric=min_metric,
                          report_dir=os.fspath(report_dir) if report_dir is not None else "",
                          report_title=report_title, prefer_faster=prefer_faster,
                          start_modes=list(start_modes))
