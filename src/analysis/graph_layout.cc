#include "analysis/graph_layout.h"

#include <algorithm>
#include <numeric>

namespace mixq::analysis {

GraphLayout LayoutLayered(int node_count, const std::vector<std::pair<int, int>>& edges) {
  GraphLayout layout;
  const auto n = static_cast<size_t>(std::max(node_count, 0));
  layout.nodes.resize(n);
  std::vector<std::vector<int>> predecessors(n);
  for (const auto& [from, to] : edges)
    if (from >= 0 && to >= 0 && from < to && static_cast<size_t>(to) < n)
      predecessors[static_cast<size_t>(to)].push_back(from);
  for (size_t i = 0; i < n; ++i)
    for (int p : predecessors[i])
      layout.nodes[i].layer = std::max(layout.nodes[i].layer, layout.nodes[static_cast<size_t>(p)].layer + 1);
  for (const auto& point : layout.nodes) layout.layers = std::max(layout.layers, point.layer + 1);

  std::vector<std::vector<int>> by_layer(static_cast<size_t>(layout.layers));
  for (size_t i = 0; i < n; ++i) by_layer[static_cast<size_t>(layout.nodes[i].layer)].push_back(static_cast<int>(i));
  for (const auto& members : by_layer) layout.width = std::max(layout.width, static_cast<int>(members.size()));
  for (auto& members : by_layer) {
    // Where the predecessors sit (layers above are placed already); nodes
    // without one keep their order after those with one.
    std::vector<double> key(members.size());
    for (size_t m = 0; m < members.size(); ++m) {
      const auto& preds = predecessors[static_cast<size_t>(members[m])];
      double sum = 0;
      for (int p : preds) sum += layout.nodes[static_cast<size_t>(p)].x;
      key[m] = preds.empty() ? 1e18 + static_cast<double>(m) : sum / static_cast<double>(preds.size());
    }
    std::vector<size_t> order(members.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
    const double offset = (layout.width - static_cast<double>(members.size())) / 2.0;
    for (size_t c = 0; c < order.size(); ++c) {
      LayoutPoint& point = layout.nodes[static_cast<size_t>(members[order[c]])];
      point.column = static_cast<int>(c);
      point.x = offset + static_cast<double>(c) + 0.5;
    }
  }
  return layout;
}

}  // namespace mixq::analysis
