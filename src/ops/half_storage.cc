#include "ops/half_storage.h"

#include <algorithm>

#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "util/status_util.h"

namespace mixq::ops {

bool HalfOrFloatStorage(const KernelInit& init) {
  if (init.HasPostOps()) return false;
  bool half = false;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    if (IsHalfStorage(*v)) {
      half = true;
    } else if (v->dtype != DataType::FLOAT32 || v->narrowed || init.ComputeOf(i) != DataType::FLOAT32) {
      return false;
    }
  }
  for (const ValueInfo& o : init.outputs) {
    if (IsHalfStorage(o)) {
      half = true;
    } else if (o.dtype != DataType::FLOAT32 || o.narrowed) {
      return false;
    }
  }
  return half;
}

WidenedInit::WidenedInit(const KernelInit& init, const ir::Shape* shape) {
  inputs_.resize(init.inputs.size());
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    inputs_[i] = *v;
    if (IsHalfStorage(*v)) {
      inputs_[i].dtype = DataType::FLOAT32;
      inputs_[i].narrowed = false;
    }
    if (shape) inputs_[i].shape = *shape;
  }
  for (size_t i = 0; i < init.inputs.size(); ++i) input_ptrs_.push_back(init.inputs[i] ? &inputs_[i] : nullptr);
  outputs_ = init.outputs;
  for (ValueInfo& o : outputs_) {
    if (IsHalfStorage(o)) {
      o.dtype = DataType::FLOAT32;
      o.narrowed = false;
    }
    if (shape) o.shape = *shape;
  }
  compute_.assign(init.inputs.size(), DataType::FLOAT32);
  init_.emplace(init.attrs, input_ptrs_, outputs_, &compute_, init.post_ops, init.weights, init.weight_key);
}

namespace {

class HalfPointwise : public Kernel {
 public:
  HalfPointwise(const char* name, int64_t count, bool in_half, bool out_half, std::unique_ptr<Kernel> chunk,
                std::unique_ptr<Kernel> tail)
      : name_(name),
        count_(count),
        in_half_(in_half),
        out_half_(out_half),
        chunk_(std::move(chunk)),
        tail_(std::move(tail)) {}
  const char* Name() const override { return name_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t chunks = (count_ + kHalfChunk - 1) / kHalfChunk;
    Status status = Status::OK();
#pragma omp parallel for schedule(static) if (count_ > kernels::kMinParallelElements)
    for (int64_t c = 0; c < chunks; ++c) {
      Status s = RunChunk(in[0], out[0], c * kHalfChunk);
      if (!s.ok()) {
#pragma omp critical(mixq_half_pointwise)
        status = s;
      }
    }
    return status;
  }

 private:
  Status RunChunk(const TensorView& x, const TensorView& y, int64_t at) const {
    const int64_t n = std::min(kHalfChunk, count_ - at);
    alignas(32) float x_buf[kHalfChunk];
    alignas(32) float y_buf[kHalfChunk];
    TensorView xv{DataType::FLOAT32, {n}, nullptr, nullptr}, yv{DataType::FLOAT32, {n}, nullptr, nullptr};
    if (in_half_) {
      kernels::HalfToFloatRow(x.Data<const uint16_t>() + at, x_buf, n);
      xv.data = x_buf;
    } else {
      xv.data = x.Data<float>() + at;
    }
    yv.data = out_half_ ? y_buf : y.Data<float>() + at;
    Kernel* k = n == kHalfChunk ? chunk_.get() : tail_.get();
    MIXQ_RETURN_IF_ERROR(k->Run({xv}, {yv}));
    if (out_half_) kernels::FloatToHalfRow(y_buf, y.Data<uint16_t>() + at, n);
    return Status::OK();
  }

  const char* name_;
  int64_t count_;
  bool in_half_, out_half_;
  std::unique_ptr<Kernel> chunk_, tail_;  // the float32 kernel prepared for a full chunk, and for the last one
};

Status MakeFloatKernel(OpKind op, const KernelInit& init, int64_t n, std::unique_ptr<Kernel>* kernel) {
  const ir::Shape shape = {n};
  WidenedInit wide(init, &shape);
  const KernelDef* def = nullptr;
  MIXQ_RETURN_IF_ERROR(SelectKernel(op, wide.init(), false, kernels::BestIsa(), &def));
  return def->make(wide.init(), kernel);
}

bool PointwiseShapes(const KernelInit& init) {
  return init.inputs.size() == 1 && init.inputs[0] && init.outputs.size() == 1 && ir::IsStatic(init.inputs[0]->shape) &&
         init.inputs[0]->shape == init.outputs[0].shape;
}

}  // namespace

bool SupportsHalfPointwise(OpKind op, const KernelInit& init) {
  if (!PointwiseShapes(init) || !HalfOrFloatStorage(init)) return false;
  WidenedInit wide(init);
  const KernelDef* def = nullptr;
  return SelectKernel(op, wide.init(), false, kernels::BestIsa(), &def).ok();
}

Status MakeHalfPointwise(OpKind op, const KernelInit& init, const char* name, std::unique_ptr<Kernel>* kernel) {
  if (!PointwiseShapes(init) || !HalfOrFloatStorage(init))
    return Internal(name, ": not a pointwise step on float16 / float32 storage");
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  std::unique_ptr<Kernel> chunk, tail;
  if (count >= kHalfChunk) MIXQ_RETURN_IF_ERROR(MakeFloatKernel(op, init, kHalfChunk, &chunk));
  if (count % kHalfChunk != 0) MIXQ_RETURN_IF_ERROR(MakeFloatKernel(op, init, count % kHalfChunk, &tail));
  *kernel = std::make_unique<HalfPointwise>(name, count, IsHalfStorage(*init.inputs[0]), IsHalfStorage(init.outputs[0]),
                                            std::move(chunk), std::move(tail));
  return Status::OK();
}

}  // namespace mixq::ops
