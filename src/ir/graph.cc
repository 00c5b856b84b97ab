#include "ir/graph.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "util/status_util.h"

namespace mixq::ir {

namespace {
constexpr size_t kAlignment = 64;
}

Buffer::Buffer(size_t size) : size_(size) {
  size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (size) std::memset(data_, 0, size);
}

Buffer::Buffer(const void* data, size_t size) : Buffer(size) {
  if (size) std::memcpy(data_, data, size);
}

Buffer::~Buffer() { std::free(data_); }

Graph::Graph(const Graph& other) { *this = other; }

Graph& Graph::operator=(const Graph& other) {
  if (this == &other) return *this;
  values_.clear();
  nodes_.clear();
  for (const auto& v : other.values_) values_.push_back(std::make_unique<Value>(*v));
  // Constant payloads are immutable and shared between copies.
  for (const auto& n : other.nodes_) nodes_.push_back(std::make_unique<Node>(*n));
  inputs_ = other.inputs_;
  outputs_ = other.outputs_;
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

const Value* Graph::FindValue(const std::string& name) const {
  for (const auto& v : values_)
    if (v->name == name) return v.get();
  return nullptr;
}

const Node* Graph::FindNode(const std::string& name) const {
  for (const auto& n : nodes_)
    if (n->name == name) return n.get();
  return nullptr;
}

std::string Graph::UniqueName(const std::string& base) const {
  std::set<std::string> used;
  for (const auto& v : values_) used.insert(v->name);
  for (const auto& n : nodes_) used.insert(n->name);
  if (!used.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string candidate = StrCat(base, "_", i);
    if (!used.count(candidate)) return candidate;
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
      if (pending[i] > 0)
        return InvalidArgument("the graph has a cycle through ", NodeLabel(*this, *nodes_[i]));
  }
  return Status::OK();
}

std::string NodeLabel(const Graph& graph, const Node& node) {
  (void)graph;
  const std::string op = OpKindName(node.op);
  return StrCat("node '", node.name, "' (", op, ")");
}

}  // namespace mixq::ir
