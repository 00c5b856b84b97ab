// Lowering: engine graph + concrete input shapes -> execution plan.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "ops/graph_verifier.h"
#include "ops/kernel_registry.h"
#include "runtime/execution_plan.h"
#include "runtime/fusion/fusion_rule.h"
#include "runtime/layout_pass.h"
#include "runtime/memory_plan.h"
#include "util/status_util.h"

namespace mixq::runtime {

namespace {

bool IsNarrowFloat(const ops::ValueInfo& v) {
  return v.narrowed && (v.dtype == DataType::FLOAT16 || v.dtype == DataType::BFLOAT16);
}

class Lowering {
 public:
  Lowering(const ir::Graph& g, const LoweringOptions& options, ops::WeightCache* weights, ExecutionPlan* plan)
      : g_(g), options_(options), weights_(weights), plan_(*plan) {}

  Status Run(const std::vector<ir::Shape>& input_shapes) {
    std::vector<int> order;
    MIXQ_RETURN_IF_ERROR(g_.TopologicalOrder(&order));
    topo_index_.assign(g_.node_count(), 0);
    for (size_t i = 0; i < order.size(); ++i) topo_index_[static_cast<size_t>(order[i])] = static_cast<int>(i);
    std::vector<int> steps;
    for (int id : order)
      if (g_.node(id)->op != OpKind::kConstant) steps.push_back(id);
    MIXQ_RETURN_IF_ERROR(ir::InferShapes(g_, steps, input_shapes, &logical_));
    MIXQ_RETURN_IF_ERROR(PinNarrowConstants());
    MakeValueBuffers();
    consumers_.assign(g_.value_count(), {});
    for (int id : steps)
      for (int in : g_.node(id)->inputs)
        if (in >= 0) consumers_[static_cast<size_t>(in)].push_back(id);
    available_.assign(g_.value_count(), false);
    for (int in : g_.inputs()) available_[static_cast<size_t>(in)] = true;
    for (size_t v = 0; v < g_.value_count(); ++v)
      if (storage_[v].const_data) available_[v] = true;
    is_output_.assign(g_.value_count(), false);
    for (int out : g_.outputs()) is_output_[static_cast<size_t>(out)] = true;
    for (size_t v = 0; v < options_.observed.size() && v < is_output_.size(); ++v)
      if (options_.observed[v]) is_output_[v] = true;  // kept, as an output is: see LoweringOptions::observed
    plan_.fused_into.assign(g_.node_count(), -1);
    plan_.node_step.assign(g_.node_count(), -1);
    std::vector<bool> done(g_.node_count(), false);
    for (int id : steps) {
      if (done[static_cast<size_t>(id)]) continue;
      MIXQ_RETURN_IF_ERROR(WithContext(LowerNode(id, &done), ir::NodeLabel(g_, *g_.node(id))));
    }
    // Network outputs no step writes (constants, inputs) still need a buffer.
    for (int out : g_.outputs()) BufferOf(out);
    if (!options_.reference_only) {
      const WithStepInit with_init = [this](int s, const std::function<void(const ops::KernelInit&)>& use) {
        WithInit(s, use);
      };
      if (options_.blocked_layouts) {
        // Observed tensors stay plain, as outputs do, unless their observer
        // takes any layout (calibration's statistics).
        std::vector<bool> keep_plain = is_output_;
        for (size_t v = 0; v < options_.observed_any_layout.size() && v < keep_plain.size(); ++v)
          if (options_.observed_any_layout[v]) keep_plain[v] = false;
        for (int out : g_.outputs()) keep_plain[static_cast<size_t>(out)] = true;
        AssignBlockedLayouts(&plan_, keep_plain, NativeBlockLayout(options_.max_isa), with_init);
        // int8 chains: NHWC between the convolutions that read and write it (oneDNN's int8 kernels).
        AssignBlockedLayouts(&plan_, is_output_, ops::MemoryLayout::kChannelsLast, with_init);
      }
      // Without blocked layouts (MIXQ_PLAIN_LAYOUTS=1) too: kernels that run
      // only in them (the float16 pointwise and depthwise ones) give their
      // plain steps back.
      MIXQ_RETURN_IF_ERROR(GiveBackSteps(with_init, options_.blocked_layouts));
    }
    CopySmallConstants();
    CountNarrowReaders();
    // Kernels are made once every buffer's layout is known.
    for (PlanStep& step : plan_.steps) {
      Status made = step.def ? MakeKernel(step) : PrepareConvert(&step);
      if (!made.ok()) return step.node >= 0 ? WithContext(made, ir::NodeLabel(g_, *g_.node(step.node))) : made;
      if (step.node >= 0) ReleaseMappedConstants(*g_.node(step.node));
      KeepPinsReadAtRun(step);
    }
    narrow_pins_.clear();  // narrow constants no step reads
    PlanArena();
    return Status::OK();
  }

 private:
  void MakeValueBuffers() {
    plan_.value_buffer.assign(g_.value_count(), -1);
    storage_.assign(g_.value_count(), ops::ValueInfo{});
    for (size_t v = 0; v < g_.value_count(); ++v) {
      const ir::Value& value = *g_.value(static_cast<int>(v));
      ops::ValueInfo info = logical_[v];
      const DataType storage = value.storage.value_or(info.dtype);
      if (info.dtype == DataType::FLOAT32 && storage != DataType::FLOAT32) info.narrowed = true;
      info.dtype = storage;
      if (value.storage_quant) info.quant = &*value.storage_quant;
      storage_[v] = info;
    }
  }

  int BufferOf(int value) {
    int& id = plan_.value_buffer[static_cast<size_t>(value)];
    if (id >= 0) return id;
    PlanBuffer b;
    b.value = value;
    b.name = g_.value(value)->name;
    b.info = storage_[static_cast<size_t>(value)];
    id = static_cast<int>(plan_.buffers.size());
    plan_.buffers.push_back(std::move(b));
    return id;
  }

  int Scratch(const std::string& name, ops::ValueInfo info) {
    PlanBuffer b;
    b.name = name;
    b.info = std::move(info);
    plan_.buffers.push_back(std::move(b));
    return static_cast<int>(plan_.buffers.size()) - 1;
  }

  // Per-step input infos; weights consumed quantized carry their binding.
  std::vector<ops::ValueInfo> InputInfos(const ir::Node& node, const std::vector<int>& values) {
    std::vector<ops::ValueInfo> infos;
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] < 0) {
        infos.push_back({});
        continue;
      }
      ops::ValueInfo info = storage_[static_cast<size_t>(values[i])];
      if (info.const_data && i < node.input_quant.size() && node.input_quant[i]) info.quant = &*node.input_quant[i];
      infos.push_back(info);
    }
    return infos;
  }

  static std::vector<const ops::ValueInfo*> Pointers(const std::vector<ops::ValueInfo>& infos,
                                                     const std::vector<int>& values) {
    std::vector<const ops::ValueInfo*> p;
    for (size_t i = 0; i < infos.size(); ++i) p.push_back(values[i] < 0 ? nullptr : &infos[i]);
    return p;
  }

  Status Select(const ir::Node& node, const std::vector<ops::ValueInfo>& in, const std::vector<int>& in_values,
                const std::vector<ops::ValueInfo>& out, const std::vector<DataType>& compute,
                const std::vector<ops::PostOp>& post_ops, const ops::KernelDef** def) {
    const auto ptrs = Pointers(in, in_values);
    ops::KernelInit init{node.attrs, ptrs, out, &compute, &post_ops};
    return ops::SelectKernel(node.op, init, options_.reference_only, options_.max_isa, def);
  }

  Status LowerNode(int id, std::vector<bool>* done) {
    const ir::Node& node = *g_.node(id);
    PlanStep step;
    step.node = id;
    step.label = node.name;
    step.op = node.op;
    step.input_compute = node.input_compute;
    std::vector<int> in_values = node.inputs, out_values = node.outputs;
    std::vector<ops::ValueInfo> in = InputInfos(node, in_values), out;
    for (int o : out_values) out.push_back(storage_[static_cast<size_t>(o)]);
    const ops::KernelDef* def = nullptr;
    Status selected = Select(node, in, in_values, out, step.input_compute, step.post_ops, &def);

    // A QDQ region after a FakeQuantize: one table step, kept only when a
    // kernel takes it (its input may be the int8 codes the producer writes:
    // then only the table step takes it).
    if (!options_.reference_only && node.op == OpKind::kFakeQuantize && out_values.size() == 1) {
      RegionTable r;
      if (PlanRegionTable(id, in, in_values, step.input_compute, &r)) {
        step.post_ops = r.post_ops;
        out_values = {r.output};
        out = r.out;
        def = r.def;
        selected = Status::OK();
        step.fused = r.fused;
        for (int f : step.fused) (*done)[static_cast<size_t>(f)] = true;
      }
    }

    // Fusion: each rule in turn, kept only when a kernel takes the fused step.
    if (selected.ok() && !options_.reference_only && out_values.size() == 1) {
      const FusionSite site{g_, consumers_, is_output_, storage_, available_, id, &topo_index_};
      for (bool progress = true; progress;) {
        progress = false;
        FusionProposal p;
        if (!ProposeActivationFusion(site, node.op, out_values[0], &p) &&
            !ProposeResidualAddFusion(site, node.op, out_values[0], &p) &&
            !ProposeBiasAddFusion(site, node.op, out_values[0], &p) &&
            !ProposeScalarFusion(site, node.op, out_values[0], &p) &&
            !ProposeQuantizeFusion(site, node.op, out_values[0], &p) &&
            !ProposeFakeQuantizeFusion(site, node.op, out_values[0], &p))
          break;
        auto try_in = in_values;
        auto try_compute = step.input_compute;
        auto try_post = step.post_ops;
        if (p.extra_input >= 0) {
          // After every input the op declares, so an omitted bias stays omitted.
          while (try_in.size() < ops::GetSchema(node.op).input_names.size()) try_in.push_back(-1);
          try_compute.resize(try_in.size(), DataType::FLOAT32);
          try_in.push_back(p.extra_input);
          try_compute.push_back(DataType::FLOAT32);
          p.post_op.input = static_cast<int>(try_in.size()) - 1;
        }
        try_post.push_back(p.post_op);
        auto try_in_infos = InputInfos(node, try_in);
        std::vector<ops::ValueInfo> try_out = {storage_[static_cast<size_t>(p.new_output)]};
        const ops::KernelDef* fused_def = nullptr;
        if (!Select(node, try_in_infos, try_in, try_out, try_compute, try_post, &fused_def).ok()) break;
        in_values = try_in;
        in = try_in_infos;
        step.input_compute = try_compute;
        step.post_ops = try_post;
        out_values = {p.new_output};
        out = try_out;
        def = fused_def;
        step.fused.push_back(p.fused_node);
        (*done)[static_cast<size_t>(p.fused_node)] = true;
        progress = true;
      }
    }

    // An operator whose float output only a FakeQuantize reads, and that
    // FakeQuantize starts a QDQ region: the operator writes that
    // FakeQuantize's int8 codes (a kQuantize post-op, the same quantization)
    // and the region's table step reads them, when both kernels take it.
    if (selected.ok() && !options_.reference_only && out_values.size() == 1 && IsFusionAnchor(node.op))
      WriteRegionCodes(node, id, in, in_values, &step, &out, &def);

    // Float16 / bfloat16 storage the kernel does not read or write: widen to
    // FLOAT32 in a scratch around it (explicit Convert steps in the plan).
    std::vector<int> in_buffers, out_buffers;
    std::vector<PlanStep> before, after;
    if (!selected.ok()) {
      bool widened = false;
      for (size_t i = 0; i < in.size(); ++i)
        if (in_values[i] >= 0 && IsNarrowFloat(in[i]) && !in[i].const_data) widened = true;
      for (const auto& o : out) widened = widened || IsNarrowFloat(o);
      if (!widened) return selected;
      for (auto& o : out)
        if (IsNarrowFloat(o)) {
          o.dtype = DataType::FLOAT32;
          o.narrowed = false;
        }
      for (size_t i = 0; i < in.size(); ++i)
        if (in_values[i] >= 0 && IsNarrowFloat(in[i]) && !in[i].const_data) {
          in[i].dtype = DataType::FLOAT32;
          in[i].narrowed = false;
          // Widened exactly: the FLOAT16 / BFLOAT16 values, consumed as FLOAT32.
          if (i < step.input_compute.size()) step.input_compute[i] = DataType::FLOAT32;
        }
      MIXQ_RETURN_IF_ERROR(Select(node, in, in_values, out, step.input_compute, step.post_ops, &def));
    }
    for (size_t i = 0; i < in_values.size(); ++i) {
      if (in_values[i] < 0) {
        in_buffers.push_back(-1);
        continue;
      }
      const int src = BufferOf(in_values[i]);
      if (plan_.buffers[static_cast<size_t>(src)].info.dtype == in[i].dtype) {
        in_buffers.push_back(src);
        continue;
      }
      const int wide = Scratch(StrCat(node.name, "/widen_in", i), in[i]);
      before.push_back(ConvertStep(StrCat(node.name, " input ", i, " to FLOAT32"), src, wide));
      in_buffers.push_back(wide);
    }
    for (size_t o = 0; o < out_values.size(); ++o) {
      const int dst = BufferOf(out_values[o]);
      if (plan_.buffers[static_cast<size_t>(dst)].info.dtype == out[o].dtype) {
        out_buffers.push_back(dst);
        continue;
      }
      const int wide = Scratch(StrCat(node.name, "/widen_out", o), out[o]);
      after.push_back(ConvertStep(
          StrCat(node.name, " output ", o, " to ", DataTypeName(plan_.buffers[static_cast<size_t>(dst)].info.dtype)),
          wide, dst));
      out_buffers.push_back(wide);
    }
    step.def = def;  // made once the layouts are known (Run)
    step.inputs = in_buffers;
    step.outputs = out_buffers;
    for (auto& s : before) AddStep(std::move(s));
    plan_.node_step[static_cast<size_t>(id)] = static_cast<int>(plan_.steps.size());
    const int anchor = static_cast<int>(plan_.steps.size());
    for (int f : step.fused) plan_.fused_into[static_cast<size_t>(f)] = anchor;
    AddStep(std::move(step));
    for (auto& s : after) AddStep(std::move(s));
    for (int o : out_values) available_[static_cast<size_t>(o)] = true;
    for (int o : node.outputs) available_[static_cast<size_t>(o)] = true;
    return Status::OK();
  }

  // The table step of the QDQ region FakeQuantize node `id` starts, reading
  // `in` (its input as stored: float32, or the int8 codes its producer
  // writes): the region's output quantized by its only consumer (a table of
  // int8 codes, no float tensor at all), else the float table.
  struct RegionTable {
    std::vector<ops::PostOp> post_ops;
    int output = -1;
    std::vector<ops::ValueInfo> out;
    const ops::KernelDef* def = nullptr;
    std::vector<int> fused;
  };
  bool PlanRegionTable(int id, const std::vector<ops::ValueInfo>& in, const std::vector<int>& in_values,
                       const std::vector<DataType>& compute, RegionTable* r) {
    const ir::Node& node = *g_.node(id);
    const FusionSite site{g_, consumers_, is_output_, storage_, available_, id, &topo_index_};
    std::vector<int> region;
    int sink = -1;
    auto table = std::make_shared<std::vector<float>>();
    if (!FindQdqRegion(site, &region, &sink) ||
        !TabulateQdqRegion(site, region, sink, options_.max_isa, table.get()).ok())
      return false;
    int quantize = -1, codes = -1;
    std::vector<std::pair<int, std::shared_ptr<std::vector<float>>>> forms;
    if (QuantizedSink(site, sink, &quantize, &codes)) {
      auto code_table = std::make_shared<std::vector<float>>(*table);
      QuantizeTable(storage_[static_cast<size_t>(codes)], code_table.get());
      forms.push_back({codes, code_table});
    }
    forms.push_back({sink, table});
    for (const auto& [result, entries] : forms) {
      ops::PostOp lookup;
      lookup.kind = ops::PostOp::Kind::kTable;
      lookup.activation = "table";  // the plan report's name
      lookup.table = entries;
      r->post_ops = {lookup};
      r->out = {storage_[static_cast<size_t>(result)]};
      if (!Select(node, in, in_values, r->out, compute, r->post_ops, &r->def).ok()) continue;
      r->output = result;
      r->fused = region;
      if (result == codes) r->fused.push_back(quantize);
      return true;
    }
    return false;
  }

  void WriteRegionCodes(const ir::Node& node, int id, const std::vector<ops::ValueInfo>& in,
                        const std::vector<int>& in_values, PlanStep* step, std::vector<ops::ValueInfo>* out,
                        const ops::KernelDef** def) {
    const int v = step->fused.empty() ? node.outputs[0] : -1;
    if (v < 0 || !PlainFloat32((*out)[0])) return;
    const FusionSite site{g_, consumers_, is_output_, storage_, available_, id, &topo_index_};
    const int fq = SoleConsumer(site, v);
    if (fq < 0 || !PerTensorInt8FakeQuantize(*g_.node(fq))) return;
    ir::QuantBinding& binding = plan_.owned_bindings.emplace_back();
    binding.bits = 8;
    binding.scales = g_.node(fq)->attrs.Floats("scales");
    binding.zero_points = {static_cast<int32_t>(g_.node(fq)->attrs.Ints("zero_points")[0])};
    binding.symmetric = binding.zero_points[0] == 0;
    ops::ValueInfo codes = (*out)[0];
    codes.dtype = DataType::INT8;
    codes.quant = &binding;
    codes.narrowed = true;
    RegionTable r;
    if (!PlanRegionTable(fq, {codes}, g_.node(fq)->inputs, g_.node(fq)->input_compute, &r)) return;
    std::vector<ops::PostOp> try_post = step->post_ops;
    ops::PostOp quantize;
    quantize.kind = ops::PostOp::Kind::kQuantize;
    try_post.push_back(quantize);
    const std::vector<ops::ValueInfo> try_out = {codes};
    const ops::KernelDef* quantized_def = nullptr;
    if (!Select(node, in, in_values, try_out, step->input_compute, try_post, &quantized_def).ok()) return;
    storage_[static_cast<size_t>(v)] = codes;  // the FakeQuantize's step reads the codes
    step->post_ops = try_post;
    *out = try_out;
    *def = quantized_def;
  }

  // Small constants (biases, scales, scalars) that steps read at run time
  // get copies of their own. Read from a mapped model file, each read would
  // map in the page-cache folio around it: ResNet-50 float32 had 53 of its
  // 102 MB of file resident again after one inference (2 MiB runs, one per
  // bias), on top of the packed copies of the weights. Copied before the
  // kernels pack the weights: the pages that copying maps in are released
  // with the weights around them (ReleaseMappedConstants).
  void CopySmallConstants() {
    constexpr int64_t kMaxCopiedBytes = 64 * 1024;
    for (PlanBuffer& buf : plan_.buffers) {
      if (!buf.info.const_data) continue;
      const int64_t bytes = ir::ElementCount(buf.info.shape) * static_cast<int64_t>(DataTypeSize(buf.info.dtype));
      if (bytes <= 0 || bytes > kMaxCopiedBytes) continue;
      std::shared_ptr<void> copy(std::aligned_alloc(64, static_cast<size_t>((bytes + 63) / 64 * 64)), std::free);
      if (!copy) continue;  // keep reading the original
      std::memcpy(copy.get(), buf.info.const_data, static_cast<size_t>(bytes));
      buf.info.const_data = copy.get();
      plan_.owned_constants.push_back(std::move(copy));
    }
  }

  // Constants a model file keeps narrow (float16 / bfloat16 weights,
  // ir::Buffer::narrow): the kernels read float32 values, so each is widened
  // (or the copy another plan holds shared) and pinned while this plan is
  // made; KeepPinsReadAtRun lets go of those no step reads at run time.
  Status PinNarrowConstants() {
    for (size_t n = 0; n < g_.node_count(); ++n) {
      const ir::Node& node = *g_.node(static_cast<int>(n));
      if (node.op != OpKind::kConstant || !node.constant || !node.constant->narrow()) continue;
      std::shared_ptr<const void> pin = node.constant->Pin();
      if (!pin)
        return ResourceExhausted(ir::NodeLabel(g_, node), ": could not allocate ", node.constant->size(),
                                 " bytes to widen its float16 / bfloat16 values (out of memory)");
      for (int out : node.outputs) logical_[static_cast<size_t>(out)].const_data = pin.get();
      const void* at = pin.get();
      narrow_pins_[at].copy = std::move(pin);
    }
    return Status::OK();
  }

  // How many step inputs read each pinned narrow constant (by address).
  void CountNarrowReaders() {
    for (const PlanStep& step : plan_.steps)
      for (int b : step.inputs)
        if (b >= 0) {
          auto pin = narrow_pins_.find(plan_.buffers[static_cast<size_t>(b)].info.const_data);
          if (pin != narrow_pins_.end()) ++pin->second.readers;
        }
  }

  // Once `step`'s kernel is made: a narrow constant's float32 copy stays
  // with the plan only where a step reads it when it runs (its kernel says
  // so: Kernel::ReadsInputAtRun; a step without a kernel always may). The
  // lowering's own pin goes with the constant's last reader, so copies are
  // let go as the kernels pack them (ResNet-50 force_float16: the 102 MB of
  // widened weights and the engine's packed ones never all resident), and
  // with the last pin the copy; copied constants (CopySmallConstants) hold
  // none.
  void KeepPinsReadAtRun(const PlanStep& step) {
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      if (step.inputs[i] < 0) continue;
      auto pin = narrow_pins_.find(plan_.buffers[static_cast<size_t>(step.inputs[i])].info.const_data);
      if (pin == narrow_pins_.end()) continue;
      if (!step.kernel || step.kernel->ReadsInputAtRun(i)) plan_.pinned_constants.push_back(pin->second.copy);
      if (--pin->second.readers <= 0) narrow_pins_.erase(pin);
    }
  }

  // Weights used in place from a mapped model file: the kernel has packed
  // what it keeps (or reads them at run time, faulting them in again), so
  // their pages leave resident memory now rather than all at once after the
  // plan: the file's copy and the packed copy never both stay resident.
  void ReleaseMappedConstants(const ir::Node& node) const {
    for (int in : node.inputs) {
      if (in < 0) continue;
      const ir::Value& v = *g_.value(in);
      if (v.producer < 0) continue;
      const ir::Node& producer = *g_.node(v.producer);
      if (producer.op == OpKind::kConstant && producer.constant) producer.constant->ReleasePages();
    }
  }

  // Steps whose kernel is not worth it in the layouts the pass left them
  // (KernelDef::keep_with_layouts) take the next kernel in line; the
  // channels-last layouts are then assigned anew, until none gives back.
  Status GiveBackSteps(const WithStepInit& with_init, bool assign_layouts) {
    for (bool changed = true; changed;) {
      changed = false;
      std::vector<size_t> give_back;
      for (size_t s = 0; s < plan_.steps.size(); ++s) {
        const PlanStep& step = plan_.steps[s];
        if (!step.def || !step.def->keep_with_layouts) continue;
        bool keep = true;
        WithInit(static_cast<int>(s), [&](const ops::KernelInit& init) { keep = step.def->keep_with_layouts(init); });
        if (!keep) give_back.push_back(s);
      }
      if (give_back.empty()) break;
      if (assign_layouts)
        for (PlanBuffer& b : plan_.buffers)
          if (b.info.layout == ops::MemoryLayout::kChannelsLast) b.info.layout = ops::MemoryLayout::kPlain;
      for (size_t s : give_back) {
        PlanStep& step = plan_.steps[s];
        const ops::KernelDef* def = nullptr;
        Status selected = Status::OK();
        WithInit(static_cast<int>(s), [&](const ops::KernelInit& init) {
          selected = ops::SelectKernel(step.op, init, options_.reference_only, options_.max_isa, &def, step.def);
        });
        if (!selected.ok())
          return Status(selected.code(), "step " + std::to_string(s) + " ('" + step.label + "', given back by " +
                                             step.def->name + "): " + selected.message());
        step.def = def;
        changed = true;
      }
      if (assign_layouts) AssignBlockedLayouts(&plan_, is_output_, ops::MemoryLayout::kChannelsLast, with_init);
    }
    return Status::OK();
  }

  // Calls `use` with the KernelInit of step `s` from the plan's buffer infos;
  // weights consumed quantized carry their binding.
  void WithInit(int s, const std::function<void(const ops::KernelInit&)>& use) {
    static const ir::AttrMap no_attrs;
    const PlanStep& step = plan_.steps[static_cast<size_t>(s)];
    const ir::Node* node = step.node >= 0 ? g_.node(step.node) : nullptr;
    std::vector<ops::ValueInfo> in(step.inputs.size());
    std::vector<const ops::ValueInfo*> ptrs(step.inputs.size(), nullptr);
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      if (step.inputs[i] < 0) continue;
      in[i] = plan_.buffers[static_cast<size_t>(step.inputs[i])].info;
      if (node && in[i].const_data && i < node->input_quant.size() && node->input_quant[i])
        in[i].quant = &*node->input_quant[i];
      ptrs[i] = &in[i];
    }
    std::vector<ops::ValueInfo> out;
    for (int b : step.outputs) out.push_back(plan_.buffers[static_cast<size_t>(b)].info);
    if (!node) {
      use(ops::KernelInit{no_attrs, ptrs, out});
      return;
    }
    use(ops::KernelInit{node->attrs, ptrs, out, &step.input_compute, &step.post_ops, weights_,
                        StrCat(node->name, "#", node->id)});
  }

  Status MakeKernel(PlanStep& step) {
    Status made = Status::OK();
    const int s = static_cast<int>(&step - plan_.steps.data());
    WithInit(s, [&](const ops::KernelInit& init) { made = step.def->make(init, &step.kernel); });
    return made;
  }

  PlanStep ConvertStep(const std::string& label, int src, int dst) {
    PlanStep s;
    s.label = label;
    s.op = OpKind::kConvert;
    s.inputs = {src};
    s.outputs = {dst};
    return s;
  }

  Status PrepareConvert(PlanStep* s) {
    static const ir::AttrMap no_attrs;
    const ops::ValueInfo& in = plan_.buffers[static_cast<size_t>(s->inputs[0])].info;
    std::vector<const ops::ValueInfo*> ptrs = {&in};
    std::vector<ops::ValueInfo> out = {plan_.buffers[static_cast<size_t>(s->outputs[0])].info};
    ops::KernelInit init{no_attrs, ptrs, out};
    MIXQ_RETURN_IF_ERROR(ops::SelectKernel(OpKind::kConvert, init, options_.reference_only, options_.max_isa, &s->def));
    return s->def->make(init, &s->kernel);
  }

  void AddStep(PlanStep step) {
    const int index = static_cast<int>(plan_.steps.size());
    for (int b : step.outputs)
      if (b >= 0 && plan_.buffers[static_cast<size_t>(b)].first < 0)
        plan_.buffers[static_cast<size_t>(b)].first = index;
    for (int b : step.inputs)
      if (b >= 0) plan_.buffers[static_cast<size_t>(b)].last = index;
    plan_.steps.push_back(std::move(step));
  }

  void PlanArena() {
    const int end = static_cast<int>(plan_.steps.size());
    for (int out : g_.outputs()) {
      const int b = plan_.value_buffer[static_cast<size_t>(out)];
      if (b >= 0) plan_.buffers[static_cast<size_t>(b)].last = end;
    }
    for (PlanBuffer& buf : plan_.buffers) {
      buf.bytes = ir::ElementCount(buf.info.shape) * static_cast<int64_t>(DataTypeSize(buf.info.dtype));
      if (buf.first >= 0 && buf.last < buf.first) buf.last = buf.first;
    }
    // Buffers sharing bytes in place: each group is one request, alive from
    // its first writer to its last reader.
    const std::vector<int> root = InPlaceRoots();
    std::vector<BufferRequest> requests;
    std::vector<int> request_of(plan_.buffers.size(), -1);
    for (size_t b = 0; b < plan_.buffers.size(); ++b) {
      const PlanBuffer& buf = plan_.buffers[b];
      if (buf.first < 0 || buf.info.const_data) continue;  // constants, network inputs
      const size_t r = static_cast<size_t>(root[b]);
      if (request_of[r] < 0) {
        request_of[r] = static_cast<int>(requests.size());
        requests.push_back({buf.bytes, buf.first, buf.last});
      }
      BufferRequest& req = requests[static_cast<size_t>(request_of[r])];
      req.first_step = std::min(req.first_step, buf.first);
      req.last_step = std::max(req.last_step, buf.last);
    }
    const MemoryPlan memory = PlanMemory(requests);
    for (size_t b = 0; b < plan_.buffers.size(); ++b) {
      const int r = request_of[static_cast<size_t>(root[b])];
      if (plan_.buffers[b].first >= 0 && !plan_.buffers[b].info.const_data && r >= 0)
        plan_.buffers[b].offset = memory.offsets[static_cast<size_t>(r)];
    }
    plan_.arena_bytes = memory.total_bytes;
  }

  // For each buffer, the buffer whose bytes it takes (itself when none):
  // a step's output takes the input its kernel names (KernelDef::
  // output_aliases) when that input is an activation this step reads last,
  // through that slot only, with the same byte count and layout.
  std::vector<int> InPlaceRoots() {
    std::vector<int> root(plan_.buffers.size());
    for (size_t b = 0; b < root.size(); ++b) root[b] = static_cast<int>(b);
    if (options_.reference_only) return root;
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      const PlanStep& step = plan_.steps[s];
      if (!step.def || !step.def->output_aliases || step.outputs.size() != 1 || step.outputs[0] < 0) continue;
      int slot = -1;
      WithInit(static_cast<int>(s), [&](const ops::KernelInit& init) { slot = step.def->output_aliases(init); });
      if (slot < 0 || static_cast<size_t>(slot) >= step.inputs.size() || step.inputs[static_cast<size_t>(slot)] < 0)
        continue;
      const int in = step.inputs[static_cast<size_t>(slot)], out = step.outputs[0];
      const PlanBuffer &ib = plan_.buffers[static_cast<size_t>(in)], &ob = plan_.buffers[static_cast<size_t>(out)];
      if (ib.first < 0 || ib.info.const_data || ib.last != static_cast<int>(s) || ob.first != static_cast<int>(s) ||
          ib.bytes != ob.bytes || ib.info.layout != ob.info.layout ||
          std::count(step.inputs.begin(), step.inputs.end(), in) != 1)
        continue;
      root[static_cast<size_t>(out)] = root[static_cast<size_t>(in)];
    }
    return root;
  }

  const ir::Graph& g_;
  LoweringOptions options_;
  ops::WeightCache* weights_;
  ExecutionPlan& plan_;
  std::vector<ops::ValueInfo> logical_, storage_;
  // Narrow constants' float32 copies while the plan is made, by address,
  // with the step inputs left to make that read them.
  struct NarrowPin {
    std::shared_ptr<const void> copy;
    int readers = 0;
  };
  std::unordered_map<const void*, NarrowPin> narrow_pins_;
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> is_output_, available_;
  std::vector<int> topo_index_;  // node id -> position in the topological order
};

}  // namespace

Status LowerToPlan(const ir::Graph& graph, const std::vector<ir::Shape>& input_shapes, const LoweringOptions& options,
                   ops::WeightCache* weights, ExecutionPlan* plan) {
  *plan = ExecutionPlan{};
  Lowering lowering(graph, options, weights, plan);
  return lowering.Run(input_shapes);
}

}  // namespace mixq::runtime
