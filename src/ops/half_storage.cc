#include "ops/half_storage.h"

#include <omp.h>

#include <algorithm>

#include "kernels/half_io.h"
#include "kernels/parallel.h"
#include "util/status_util.h"

namespace mixq::ops {

bool NarrowOrFloatStorage(const KernelInit& init, DataType narrow) {
  if (init.HasPostOps()) return false;
  bool half = false;
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    if (IsNarrowStorage(*v, narrow)) {
      half = true;
    } else if (v->dtype != DataType::FLOAT32 || v->narrowed || init.ComputeOf(i) != DataType::FLOAT32) {
      return false;
    }
  }
  for (const ValueInfo& o : init.outputs) {
    if (IsNarrowStorage(o, narrow)) {
      half = true;
    } else if (o.dtype != DataType::FLOAT32 || o.narrowed) {
      return false;
    }
  }
  return half;
}

WidenedInit::WidenedInit(const KernelInit& init, const ir::Shape* shape, const ir::Shape* out_shape) {
  inputs_.resize(init.inputs.size());
  for (size_t i = 0; i < init.inputs.size(); ++i) {
    const ValueInfo* v = init.inputs[i];
    if (!v) continue;
    inputs_[i] = *v;
    if (IsHalfStorage(*v) || IsNarrowStorage(*v, DataType::BFLOAT16)) {
      inputs_[i].dtype = DataType::FLOAT32;
      inputs_[i].narrowed = false;
    }
    if (shape && i == 0) inputs_[i].shape = *shape;
  }
  for (size_t i = 0; i < init.inputs.size(); ++i) input_ptrs_.push_back(init.inputs[i] ? &inputs_[i] : nullptr);
  outputs_ = init.outputs;
  for (ValueInfo& o : outputs_) {
    if (IsHalfStorage(o) || IsNarrowStorage(o, DataType::BFLOAT16)) {
      o.dtype = DataType::FLOAT32;
      o.narrowed = false;
    }
    if (out_shape || shape) o.shape = out_shape ? *out_shape : *shape;
  }
  compute_.assign(init.inputs.size(), DataType::FLOAT32);
  // A kernel prepared for a chunk may pack its weights for that shape: its
  // own key in the engine's weight cache.
  init_.emplace(
      init.attrs, input_ptrs_, outputs_, &compute_, init.post_ops, init.weights,
      shape && !init.weight_key.empty() ? StrCat(init.weight_key, "@", ir::ShapeString(*shape)) : init.weight_key);
}

namespace {

class HalfPointwise : public Kernel {
 public:
  HalfPointwise(const char* name, int64_t count, bool bfloat16, bool in_half, bool out_half,
                std::unique_ptr<Kernel> chunk, std::unique_ptr<Kernel> tail)
      : name_(name),
        count_(count),
        bfloat16_(bfloat16),
        in_half_(in_half),
        out_half_(out_half),
        chunk_(std::move(chunk)),
        tail_(std::move(tail)) {}
  const char* Name() const override { return name_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    // One contiguous range of whole chunks per thread.
    const int64_t chunks = (count_ + kHalfChunk - 1) / kHalfChunk;
    const int64_t parts = count_ > kernels::kMinParallelElements ? std::min<int64_t>(chunks, omp_get_max_threads()) : 1;
    Status status = Status::OK();
#pragma omp parallel for schedule(static) if (parts > 1)
    for (int64_t part = 0; part < parts; ++part) {
      const int64_t first = chunks * part / parts, last = chunks * (part + 1) / parts;
      Status s = RunChunks(in[0], out[0], first * kHalfChunk, std::min(count_, last * kHalfChunk));
      if (!s.ok()) {
#pragma omp critical(mixq_half_pointwise)
        status = s;
      }
    }
    return status;
  }

 private:
  // Elements [begin, end): chunk by chunk through float32 buffers in L1,
  // the views built once (the loop only moves their data pointers).
  Status RunChunks(const TensorView& x, const TensorView& y, int64_t begin, int64_t end) const {
    alignas(32) float x_buf[kHalfChunk];
    alignas(32) float y_buf[kHalfChunk];
    std::vector<TensorView> xv = {{DataType::FLOAT32, {kHalfChunk}, x_buf, nullptr}};
    std::vector<TensorView> yv = {{DataType::FLOAT32, {kHalfChunk}, y_buf, nullptr}};
    for (int64_t at = begin; at < end; at += kHalfChunk) {
      const int64_t n = std::min(kHalfChunk, end - at);
      if (n != kHalfChunk) xv[0].shape = yv[0].shape = {n};
      if (in_half_)
        kernels::Narrow16ToFloatRow(bfloat16_, x.Data<const uint16_t>() + at, x_buf, n);
      else
        xv[0].data = x.Data<float>() + at;
      if (!out_half_) yv[0].data = y.Data<float>() + at;
      MIXQ_RETURN_IF_ERROR((n == kHalfChunk ? chunk_ : tail_)->Run(xv, yv));
      if (out_half_) kernels::FloatToNarrow16Row(bfloat16_, y_buf, y.Data<uint16_t>() + at, n);
    }
    return Status::OK();
  }

  const char* name_;
  int64_t count_;
  bool bfloat16_;  // the 16-bit storage is bfloat16, else float16
  bool in_half_, out_half_;
  std::unique_ptr<Kernel> chunk_, tail_;  // the float32 kernel prepared for a full chunk, and for the last one
};

Status MakeFloatKernelFor(OpKind op, const KernelInit& init, const ir::Shape& shape, std::unique_ptr<Kernel>* kernel,
                          const ir::Shape* out_shape = nullptr);

Status MakeFloatKernel(OpKind op, const KernelInit& init, int64_t n, std::unique_ptr<Kernel>* kernel) {
  return MakeFloatKernelFor(op, init, ir::Shape{n}, kernel);
}

bool PointwiseShapes(const KernelInit& init) {
  return init.inputs.size() == 1 && init.inputs[0] && init.outputs.size() == 1 && ir::IsStatic(init.inputs[0]->shape) &&
         init.inputs[0]->shape == init.outputs[0].shape;
}

}  // namespace

bool SupportsHalfPointwise(OpKind op, const KernelInit& init, DataType narrow) {
  if (!PointwiseShapes(init) || !NarrowOrFloatStorage(init, narrow)) return false;
  WidenedInit wide(init);
  const KernelDef* def = nullptr;
  return SelectKernel(op, wide.init(), false, kernels::BestIsa(), &def).ok();
}

Status MakeHalfPointwise(OpKind op, const KernelInit& init, DataType narrow, const char* name,
                         std::unique_ptr<Kernel>* kernel) {
  if (!PointwiseShapes(init) || !NarrowOrFloatStorage(init, narrow))
    return Internal(name, ": not a pointwise step on ", DataTypeName(narrow), " / float32 storage");
  const int64_t count = ir::ElementCount(init.inputs[0]->shape);
  std::unique_ptr<Kernel> chunk, tail;
  if (count >= kHalfChunk) MIXQ_RETURN_IF_ERROR(MakeFloatKernel(op, init, kHalfChunk, &chunk));
  if (count % kHalfChunk != 0) MIXQ_RETURN_IF_ERROR(MakeFloatKernel(op, init, count % kHalfChunk, &tail));
  *kernel = std::make_unique<HalfPointwise>(
      name, count, narrow == DataType::BFLOAT16, IsNarrowStorage(*init.inputs[0], narrow),
      IsNarrowStorage(init.outputs[0], narrow), std::move(chunk), std::move(tail));
  return Status::OK();
}

namespace {

struct RowGeometry {
  int64_t rows = 1, length = 1, out_length = 1, rows_per_chunk = 1;
  ir::Shape chunk_shape, tail_shape;          // input 0; empty tail_shape: no partial chunk
  ir::Shape out_chunk_shape, out_tail_shape;  // output 0
};

ir::Shape RowsShape(const ir::Shape& shape, int64_t axis, int64_t rows) {
  if (axis == 0) return shape;
  ir::Shape s(static_cast<size_t>(axis - 1), 1);
  s.push_back(rows);
  s.insert(s.end(), shape.begin() + axis, shape.end());
  return s;
}

bool ReadRowGeometry(const KernelInit& init, int64_t axis, bool whole, RowGeometry* g) {
  if (init.inputs.empty() || !init.inputs[0] || init.outputs.size() != 1) return false;
  const ir::Shape& shape = init.inputs[0]->shape;
  const ir::Shape& out = init.outputs[0].shape;
  if (!ir::IsStatic(shape) || !ir::IsStatic(out) || shape.size() != out.size() || axis < 0 ||
      axis >= static_cast<int64_t>(shape.size()) || !std::equal(shape.begin(), shape.begin() + axis, out.begin()))
    return false;
  for (size_t i = 1; i < init.inputs.size(); ++i)
    if (init.inputs[i] && !init.inputs[i]->const_data) return false;  // constants only (never narrowed)
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    (d < axis ? g->rows : g->length) *= shape[static_cast<size_t>(d)];
    if (d >= axis) g->out_length *= out[static_cast<size_t>(d)];
  }
  if (g->length <= 0 || g->rows <= 0 || g->out_length <= 0) return false;
  g->rows_per_chunk = axis == 0 ? 1 : std::max<int64_t>(1, std::min(g->rows, kHalfChunk / g->length));
  if (whole) {
    // One call over every row, as the float32 kernel between Cast steps.
    if (g->rows * std::max(g->length, g->out_length) > kHalfWholeLimit) return false;
    g->rows_per_chunk = g->rows;
  }
  g->chunk_shape = RowsShape(shape, axis, g->rows_per_chunk);
  g->out_chunk_shape = RowsShape(out, axis, g->rows_per_chunk);
  if (g->rows % g->rows_per_chunk != 0) {
    g->tail_shape = RowsShape(shape, axis, g->rows % g->rows_per_chunk);
    g->out_tail_shape = RowsShape(out, axis, g->rows % g->rows_per_chunk);
  }
  return true;
}

Status MakeFloatKernelFor(OpKind op, const KernelInit& init, const ir::Shape& shape, std::unique_ptr<Kernel>* kernel,
                          const ir::Shape* out_shape) {
  WidenedInit wide(init, &shape, out_shape);
  const KernelDef* def = nullptr;
  MIXQ_RETURN_IF_ERROR(SelectKernel(op, wide.init(), false, kernels::BestIsa(), &def));
  return def->make(wide.init(), kernel);
}

class HalfRows : public Kernel {
 public:
  HalfRows(const char* name, RowGeometry g, bool bfloat16, bool in_half, bool out_half, std::unique_ptr<Kernel> chunk,
           std::unique_ptr<Kernel> tail)
      : name_(name),
        g_(std::move(g)),
        bfloat16_(bfloat16),
        in_half_(in_half),
        out_half_(out_half),
        chunk_(std::move(chunk)),
        tail_(std::move(tail)) {}
  const char* Name() const override { return name_; }

  Status Run(const std::vector<TensorView>& in, const std::vector<TensorView>& out) override {
    const int64_t chunks = (g_.rows + g_.rows_per_chunk - 1) / g_.rows_per_chunk;
    // Buffers per OpenMP thread, sized once for a whole chunk: allocating and
    // zero-filling them per chunk cost PP-OCR rec's float16 Softmax (40 rows
    // of 6625, a chunk per row) about a third of its time.
    const int threads = std::max(1, omp_get_max_threads());
    if (buffers_.size() < static_cast<size_t>(threads)) buffers_.resize(static_cast<size_t>(threads));
    for (Buffers& b : buffers_) {
      if (in_half_ && b.x.size() < static_cast<size_t>(g_.rows_per_chunk * g_.length))
        b.x.resize(static_cast<size_t>(g_.rows_per_chunk * g_.length));
      if (out_half_ && b.y.size() < static_cast<size_t>(g_.rows_per_chunk * g_.out_length))
        b.y.resize(static_cast<size_t>(g_.rows_per_chunk * g_.out_length));
    }
    // Not inside an inactive `omp parallel ... if (false)` region: a float32
    // kernel that opens its own (oneDNN's inner product) then runs a nested
    // team. MobileNetV2's float16 1280 -> 1000 FullyConnected at 2 threads:
    // 0.45-0.49 ms that way, 0.28-0.31 called directly (step minima, AMD
    // Zen 4; 0.20 in float32).
    if (chunks == 1 || g_.rows * std::max(g_.length, g_.out_length) <= kernels::kMinParallelElements) {
      for (int64_t c = 0; c < chunks; ++c)
        MIXQ_RETURN_IF_ERROR(RunChunk(in, out[0], c * g_.rows_per_chunk, &buffers_[0]));
      return Status::OK();
    }
    Status status = Status::OK();
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      Status s = RunChunk(in, out[0], c * g_.rows_per_chunk, &buffers_[static_cast<size_t>(omp_get_thread_num())]);
      if (!s.ok()) {
#pragma omp critical(mixq_half_rows)
        status = s;
      }
    }
    return status;
  }

 private:
  struct Buffers {
    std::vector<float> x, y;  // a chunk's widened input and float32 output
  };

  Status RunChunk(const std::vector<TensorView>& in, const TensorView& y, int64_t row, Buffers* b) const {
    const int64_t rows = std::min(g_.rows_per_chunk, g_.rows - row);
    const int64_t n = rows * g_.length, at = row * g_.length;
    const int64_t out_n = rows * g_.out_length, out_at = row * g_.out_length;
    const bool full = rows == g_.rows_per_chunk;
    std::vector<TensorView> views = in;
    views[0] = {DataType::FLOAT32, full ? g_.chunk_shape : g_.tail_shape, nullptr, nullptr};
    TensorView yv{DataType::FLOAT32, full ? g_.out_chunk_shape : g_.out_tail_shape, nullptr, nullptr};
    if (in_half_) {
      kernels::Narrow16ToFloatRow(bfloat16_, in[0].Data<const uint16_t>() + at, b->x.data(), n);
      views[0].data = b->x.data();
    } else {
      views[0].data = in[0].Data<float>() + at;
    }
    yv.data = out_half_ ? b->y.data() : y.Data<float>() + out_at;
    MIXQ_RETURN_IF_ERROR((full ? chunk_ : tail_)->Run(views, {yv}));
    if (out_half_) kernels::FloatToNarrow16Row(bfloat16_, b->y.data(), y.Data<uint16_t>() + out_at, out_n);
    return Status::OK();
  }

  const char* name_;
  RowGeometry g_;
  bool bfloat16_;
  bool in_half_, out_half_;
  std::unique_ptr<Kernel> chunk_, tail_;
  std::vector<Buffers> buffers_;  // per OpenMP thread
};

}  // namespace

bool SupportsHalfRows(OpKind op, const KernelInit& init, DataType narrow, int64_t axis, bool whole) {
  RowGeometry g;
  if (!NarrowOrFloatStorage(init, narrow) || !ReadRowGeometry(init, axis, whole, &g)) return false;
  WidenedInit wide(init, &g.chunk_shape, &g.out_chunk_shape);
  const KernelDef* def = nullptr;
  return SelectKernel(op, wide.init(), false, kernels::BestIsa(), &def).ok();
}

Status MakeHalfRows(OpKind op, const KernelInit& init, DataType narrow, int64_t axis, bool whole, const char* name,
                    std::unique_ptr<Kernel>* kernel) {
  RowGeometry g;
  if (!NarrowOrFloatStorage(init, narrow) || !ReadRowGeometry(init, axis, whole, &g))
    return Internal(name, ": not a row-wise step on ", DataTypeName(narrow), " / float32 storage");
  std::unique_ptr<Kernel> chunk, tail;
  MIXQ_RETURN_IF_ERROR(MakeFloatKernelFor(op, init, g.chunk_shape, &chunk, &g.out_chunk_shape));
  if (!g.tail_shape.empty()) MIXQ_RETURN_IF_ERROR(MakeFloatKernelFor(op, init, g.tail_shape, &tail, &g.out_tail_shape));
  const bool in_half = IsNarrowStorage(*init.inputs[0], narrow), out_half = IsNarrowStorage(init.outputs[0], narrow);
  *kernel = std::make_unique<HalfRows>(name, std::move(g), narrow == DataType::BFLOAT16, in_half, out_half,
                                       std::move(chunk), std::move(tail));
  return Status::OK();
}

bool HoldsHalfValues(const float* w, int64_t count) {
  constexpr int64_t kChunk = 4096;
  std::vector<uint16_t> h(kChunk);
  std::vector<float> back(kChunk);
  for (int64_t at = 0; at < count; at += kChunk) {
    const int64_t n = std::min(kChunk, count - at);
    kernels::FloatToHalfRow(w + at, h.data(), n);
    kernels::HalfToFloatRow(h.data(), back.data(), n);
    for (int64_t i = 0; i < n; ++i)
      if (back[static_cast<size_t>(i)] != w[at + i] && w[at + i] == w[at + i]) return false;
  }
  return true;
}

}  // namespace mixq::ops
