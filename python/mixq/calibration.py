"""Calibration: the data interface to subclass (as in the seed) and the calibrator.

The seed's example derives its class from ``cc.CalibDataInterface``; with
``from mixq import calibration as cc`` it runs as written.
"""
from ._mixq import CalibDataInterface, ICalibrator, QuantizationAlgorithm, create_i_calibrator  # noqa: F401
from .convenience import ArrayCalibData, calibrate  # noqa: F401

__all__ = ["ArrayCalibData", "CalibDataInterface", "ICalibrator", "QuantizationAlgorithm", "calibrate",
           "create_i_calibrator"]
