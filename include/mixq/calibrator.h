// Calibration (SPEC §3): sample data in, a network with statistics out.
//
//   network --Calibrate(samples)--> network with statistics --BuildModel--> model with quantization parameters
//
// Calibrate runs the float network over every sample and records, for every
// tensor the precision plan will quantize, a histogram plus min/max. BuildModel
// then turns those statistics into ranges with the chosen algorithm. The
// statistics can be saved to a calibration file and loaded again (another
// algorithm gives new ranges without running the data again), or written and
// read as a human-readable range table. See docs/calibration.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mixq/builder.h"
#include "mixq/network.h"
#include "mixq/types.h"

namespace mixq {

// The user's sample data for one network input. The calibrator calls Reset()
// once at the start of Calibrate, then Next() before every sample; after a
// successful Next(), GetShape / GetDataType / GetSample describe the current
// sample, whose dims may differ from the previous one (dynamic dims).
class CalibDataInterface {
 public:
  virtual ~CalibDataInterface() = default;
  // Dims of the current sample (concrete: no -1).
  virtual Dims GetShape() = 0;
  // Element type of the current sample: the input's data type (FLOAT32 for
  // float and QINT8 / QINT16 inputs).
  virtual DataType GetDataType() = 0;
  // Advances to the next sample: OK, or OUT_OF_RANGE when the data is
  // exhausted. Any other status aborts the calibration with that status.
  virtual Status Next() = 0;
  // Rewinds to before the first sample.
  virtual Status Reset() = 0;
  // The current sample's data (GetShape().GetElementCount() elements), valid
  // until the next call to Next() or Reset(). Null aborts the calibration.
  virtual void* GetSample() = 0;
  // Number of samples if known (only used to report progress); -1 if unknown.
  virtual int64_t GetSampleCount() { return -1; }
};

// How statistics become ranges. LINEAR: [min, max] (the default). EQNM: the
// range minimizing the expected squared quantization error (symmetric
// quantization only). ENTROPY: minimum KL divergence on the histogram
// (TensorRT style). PERCENTILE: the given percentile of |x| (symmetric) or of
// each tail (asymmetric). AUTO: per tensor, the one of the four (EQNM only
// when symmetric) whose range has the smallest expected quantization error
// on the tensor's histogram (docs/accuracy.md).
enum class QuantizationAlgorithm : int32_t { LINEAR = 0, EQNM = 1, ENTROPY = 2, PERCENTILE = 3, AUTO = 4 };

const char* QuantizationAlgorithmName(QuantizationAlgorithm algorithm);  // "linear", "eqnm", ...

class ICalibrator {
 public:
  virtual ~ICalibrator() = default;

  // The algorithm recorded on the network by the next Calibrate or
  // LoadStatistics. `percentile` is used by PERCENTILE and AUTO only and must lie in
  // (0, 100]. INVALID_ARGUMENT for a value outside the enum or a bad percentile.
  virtual Status SetQuantizationAlgorithm(QuantizationAlgorithm algorithm, double percentile = 99.99) = 0;
  // Histogram bins per tensor (default 2048; 1 .. 1048576). Memory is
  // O(tensors x bins), independent of the number of samples. 0 keeps ranges
  // only (min, max and counts, no histogram): all LINEAR needs, for about a
  // fifth of the calibration's time on top of float inference instead of a
  // half (PP-OCRv4 rec); Calibrate with another algorithm is then
  // FAILED_PRECONDITION, and SaveStatistics too (a calibration file carries
  // histograms: WriteRangeTable saves the ranges).
  virtual Status SetHistogramBins(int32_t bins) = 0;
  // Called after every sample with the number done and the total (GetSampleCount(), -1 if unknown);
  // then AUTO's output-aware search calls (0, N), ..., (N, N) in candidate builds. Default: none.
  virtual void SetProgressCallback(std::function<void(int64_t done, int64_t total)> callback) = 0;

  // Runs the float network over every sample and leaves it with statistics of
  // every tensor the plan for `config` (null: defaults) will quantize with a
  // static range. Replaces statistics from an earlier Calibrate or load.
  virtual Status Calibrate(INetwork* network, IBuilderConfig* config) = 0;

  // The network's statistics as a calibration file (binary, versioned,
  // checksummed; histograms, min/max, tensor names and a hash of the network;
  // with algorithm AUTO, the output-aware search's choice per tensor, which
  // a later LoadStatistics with AUTO uses instead of searching again).
  virtual Status SaveStatistics(INetwork* network, const std::string& path) = 0;
  // Loads a calibration file saved from the same network (same structure and
  // weights) and records this calibrator's algorithm with it. Corrupt bytes:
  // DATA_LOSS with the byte offset; another format version: INVALID_ARGUMENT;
  // tensor names the network lacks: NOT_FOUND listing them; another network:
  // FAILED_PRECONDITION.
  virtual Status LoadStatistics(INetwork* network, const std::string& path) = 0;

  // The ranges BuildModel would use with `config`, one per statistics tensor,
  // as a JSON range table a person can read and edit:
  //   {"format": "mixq-range-table", "version": 1, "network_hash": "…",
  //    "algorithm": "entropy", "ranges": {"tensor": [min, max], …}}
  virtual Status WriteRangeTable(INetwork* network, IBuilderConfig* config, const std::string& path) = 0;
  // Sets the network's calibrated ranges from a range table (replacing any
  // statistics): they are used as given, whatever the algorithm.
  // "network_hash" is optional; when present it must match the network.
  virtual Status ReadRangeTable(INetwork* network, const std::string& path) = 0;
  // Warnings of the last successful Calibrate or LoadStatistics, one
  // sentence each: tensors whose every sample was zero (range [0, 0]:
  // quantized with scale 1, they carry no information); a loaded file whose
  // auto choices were searched at another percentile. Empty when there is
  // nothing to say.
  virtual std::vector<std::string> GetWarnings() const { return {}; }
};

// One data interface per network input, in the network's input order.
std::unique_ptr<ICalibrator> CreateICalibrator(CalibDataInterface* data);
std::unique_ptr<ICalibrator> CreateICalibrator(std::vector<CalibDataInterface*> data);

}  // namespace mixq
