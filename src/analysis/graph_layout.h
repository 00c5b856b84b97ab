// A layered top-to-bottom layout for the report's plan graph: every node one
// layer below its lowest predecessor (longest path from the sources), nodes
// of a layer ordered by the mean position of their predecessors (one pass,
// which untangles chains and simple branches), each layer centred.
#pragma once

#include <utility>
#include <vector>

namespace mixq::analysis {

struct LayoutPoint {
  int layer = 0;
  int column = 0;  // position within the layer, 0 first
  double x = 0;    // centre, in units of one box slot (0 .. width)
};

struct GraphLayout {
  std::vector<LayoutPoint> nodes;  // by node index
  int layers = 0;
  int width = 0;  // the widest layer's node count
};

// `node_count` nodes listed in a topological order (every edge goes from a
// lower to a higher index; edges that do not are ignored, so a bad order
// cannot loop); `edges` as (from, to).
GraphLayout LayoutLayered(int node_count, const std::vector<std::pair<int, int>>& edges);

}  // namespace mixq::analysis
