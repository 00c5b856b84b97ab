#include "ir/graph.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "util/half.h"
#include "util/status_util.h"

namespace mixq::ir {

namespace {
constexpr size_t kAlignment = 64;
}

Buffer::Buffer(size_t size) {
  const size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  data_ = rounded < size ? nullptr : std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (!data_) {
    failed_size_ = size;
    return;
  }
  size_ = size;
  if (size) std::memset(data_, 0, size);
}

Buffer::Buffer(const void* data, size_t size) : Buffer(size) {
  if (ok() && size) std::memcpy(data_, data, size);
}

Status CheckAllocated(const Buffer& buffer, const std::string& what) {
  if (buffer.ok()) return Status::OK();
  return ResourceExhausted(what, ": could not allocate ", buffer.failed_size(), " bytes (out of memory)");
}

Buffer::Buffer(const void* data, size_t size, std::shared_ptr<const MappedFile> mapping)
    : data_(const_cast<void*>(data)), size_(size), mapping_(std::move(mapping)) {}

Buffer::Buffer(const void* narrow, size_t count, DataType encoding, std::shared_ptr<const MappedFile> mapping)
    : size_(count * sizeof(float)), mapping_(std::move(mapping)), encoding_(encoding) {
  if (mapping_) {
    narrow_ = const_cast<void*>(narrow);
    return;
  }
  narrow_ = std::malloc(count == 0 ? 2 : count * 2);
  if (!narrow_) {
    failed_size_ = count * 2;
    size_ = 0;
    return;
  }
  owns_narrow_ = true;
  if (count) std::memcpy(narrow_, narrow, count * 2);
}

Buffer::~Buffer() {
  if (owns_narrow_) std::free(narrow_);
  if (!mapping_) std::free(data_);
}

std::shared_ptr<float> Buffer::WidenLocked() const {
  const size_t count = size_ / sizeof(float);
  const size_t rounded = (size_ + kAlignment - 1) / kAlignment * kAlignment;
  auto* y = static_cast<float*>(std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded));
  if (!y) return nullptr;
  const auto* bytes = static_cast<const uint8_t*>(narrow_);  // 2-byte aligned or not: memcpy
  for (size_t e = 0; e < count; ++e) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * e, sizeof(h));
    y[e] = encoding_ == DataType::FLOAT16 ? HalfToFloat(h) : BFloat16ToFloat(h);
  }
  // The 16-bit bytes are read again only to widen anew: their pages leave
  // resident memory (a mapped file's; read from it again if touched).
  if (mapping_) mapping_->Release(narrow_, size_ / 2);
  return std::shared_ptr<float>(y, std::free);
}

const void* Buffer::KeptWidened() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!kept_) kept_ = pinned_.lock();
  if (!kept_) kept_ = WidenLocked();
  pinned_ = kept_;
  return kept_.get();
}

bool Buffer::HoldsWidened() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_ != nullptr || !pinned_.expired();
}

std::shared_ptr<const void> Buffer::Pin() const {
  if (!narrow_) return std::shared_ptr<const void>(std::shared_ptr<const void>(), data_);  // the buffer holds it
  std::lock_guard<std::mutex> lock(mutex_);
  if (kept_) return kept_;
  std::shared_ptr<float> copy = pinned_.lock();
  if (!copy) copy = WidenLocked();
  pinned_ = copy;
  return copy;
}

Graph::Graph(const Graph& other) {
  *this = other;
}

Graph& Graph::operator=(const Graph& other) {
  if (this == &other) return *this;
  values_.clear();
  nodes_.clear();
  for (const auto& v : other.values_) values_.push_back(std::make_unique<Value>(*v));
  // Constant payloads are immutable and shared between copies.
  for (const auto& n : other.nodes_) nodes_.push_back(std::make_unique<Node>(*n));
  inputs_ = other.inputs_;
  outputs_ = other.outputs_;
  std::lock_guard<std::mutex> lock(names_mutex_);
  value_index_.clear();
  node_index_.clear();
  next_suffix_.clear();
  indexed_values_ = indexed_nodes_ = 0;
  return *this;
}

Value* Graph::AddInput(const std::string& name, DataType dtype, const Shape& shape) {
  auto value = std::make_unique<Value>();
  value->id = static_cast<int>(values_.size());
  value->name = name;
  value->dtype = dtype;
  value->shape = shape;
  inputs_.push_back(value->id);
  values_.push_back(std::move(value));
  return values_.back().get();
}

Node* Graph::AddNode(OpKind op, const std::string& name, const std::vector<int>& inputs, int num_outputs) {
  auto node = std::make_unique<Node>();
  node->id = static_cast<int>(nodes_.size());
  node->name = name;
  node->op = op;
  node->inputs = inputs;
  for (int i = 0; i < num_outputs; ++i) {
    auto value = std::make_unique<Value>();
    value->id = static_cast<int>(values_.size());
    value->name = num_outputs == 1 ? name + ":0" : StrCat(name, ":", i);
    value->producer = node->id;
    value->producer_output = i;
    node->outputs.push_back(value->id);
    values_.push_back(std::move(value));
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

void Graph::IndexNewNamesLocked() const {
  // raw_values() / raw_nodes() users (dead node elimination) may have removed
  // items: start the index again. Moved items are still found, because every
  // hit is checked against the item's name and a stale hit falls back to a scan.
  if (indexed_values_ > values_.size() || indexed_nodes_ > nodes_.size()) {
    value_index_.clear();
    node_index_.clear();
    indexed_values_ = indexed_nodes_ = 0;
  }
  for (; indexed_values_ < values_.size(); ++indexed_values_)
    value_index_.emplace(values_[indexed_values_]->name, static_cast<int>(indexed_values_));
  for (; indexed_nodes_ < nodes_.size(); ++indexed_nodes_)
    node_index_.emplace(nodes_[indexed_nodes_]->name, static_cast<int>(indexed_nodes_));
}

namespace {
// The first item named `name`: the index's entry when it is still true, else
// (after a rename away from it) a scan, which is rare.
template <typename Item>
const Item* Lookup(const std::vector<std::unique_ptr<Item>>& items, std::unordered_map<std::string, int>& index,
                   const std::string& name) {
  auto it = index.find(name);
  if (it == index.end()) return nullptr;
  const size_t at = static_cast<size_t>(it->second);
  if (at < items.size() && items[at]->name == name) return items[at].get();
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i]->name == name) {
      it->second = static_cast<int>(i);
      return items[i].get();
    }
  index.erase(it);
  return nullptr;
}
}  // namespace

const Value* Graph::FindValue(const std::string& name) const {
  std::lock_guard<std::mutex> lock(names_mutex_);
  IndexNewNamesLocked();
  return Lookup(values_, value_index_, name);
}

const Node* Graph::FindNode(const std::string& name) const {
  std::lock_guard<std::mutex> lock(names_mutex_);
  IndexNewNamesLocked();
  return Lookup(nodes_, node_index_, name);
}

void Graph::RenameValue(int id, const std::string& name) {
  std::lock_guard<std::mutex> lock(names_mutex_);
  IndexNewNamesLocked();
  value(id)->name = name;
  value_index_.emplace(name, id);
}

void Graph::RenameNode(int id, const std::string& name) {
  std::lock_guard<std::mutex> lock(names_mutex_);
  IndexNewNamesLocked();
  node(id)->name = name;
  node_index_.emplace(name, id);
}

std::string Graph::UniqueName(const std::string& base) const {
  std::lock_guard<std::mutex> lock(names_mutex_);
  IndexNewNamesLocked();
  // A node's outputs are named "<node>:<i>": a renamed node leaves its
  // outputs' names behind, which a new node of the old name must not repeat.
  auto used = [&](const std::string& name) {
    if (Lookup(values_, value_index_, name) || Lookup(nodes_, node_index_, name)) return true;
    for (int i = 0; i < 4; ++i)
      if (Lookup(values_, value_index_, StrCat(name, ":", i))) return true;
    return false;
  };
  if (!used(base)) return base;
  // Resume where the last search for this base stopped: names only get added.
  int64_t& next = next_suffix_[base];
  for (next = std::max<int64_t>(next, 1);; ++next) {
    std::string candidate = StrCat(base, "_", next);
    if (!used(candidate)) return candidate;
  }
}

Status Graph::TopologicalOrder(std::vector<int>* order) const {
  // Kahn's algorithm over node ids, stable in node order.
  const size_t n = nodes_.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (const auto& node : nodes_) {
    for (int input : node->inputs) {
      if (input < 0) continue;
      if (static_cast<size_t>(input) >= values_.size())
        return InvalidArgument(NodeLabel(*this, *node), " reads value id ", input, " which does not exist");
      int producer = values_[static_cast<size_t>(input)]->producer;
      if (producer >= 0) {
        ++pending[static_cast<size_t>(node->id)];
        consumers[static_cast<size_t>(producer)].push_back(node->id);
      }
    }
  }
  order->clear();
  std::vector<int> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push_back(static_cast<int>(i));
  while (!ready.empty()) {
    // Lowest id first keeps the order close to the order nodes were added.
    auto lowest = std::min_element(ready.begin(), ready.end());
    int id = *lowest;
    ready.erase(lowest);
    order->push_back(id);
    for (int consumer : consumers[static_cast<size_t>(id)])
      if (--pending[static_cast<size_t>(consumer)] == 0) ready.push_back(consumer);
  }
  if (order->size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0) return InvalidArgument("the graph has a cycle through ", NodeLabel(*this, *nodes_[i]));
  }
  return Status::OK();
}

std::string NodeLabel(const Graph& graph, const Node& node) {
  (void)graph;
  const std::string op = OpKindName(node.op);
  return StrCat("node '", node.name, "' (", op, ")");
}

}  // namespace mixq::ir
