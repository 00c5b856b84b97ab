// Rewrites activations and normalizations that exporters spell out op by op
// (PyTorch and PaddlePaddle below the opsets that have them, and their own
// spellings) as the one operator mixq has for them: SiLU, GELU (erf and tanh
// forms), hard-sigmoid and LayerNorm over the last axis. Each rule lives in
// its own file (fuse_<rule>.cc); the checks that keep a rewrite exact up to
// float rounding are in ApplyFusion (fusion_match.h).
#include "passes/build_pipeline.h"
#include "passes/fusion_match.h"

namespace mixq::passes {

void FuseDecomposedOps(ir::Graph* graph, const BuildOptions& options,
                       std::map<std::string, std::vector<std::string>>* folded) {
  // No pattern contains another rule's anchor, so the order only decides
  // which rule looks first.
  const FusionRule rules[] = {MatchLayerNorm, MatchGeluErf, MatchGeluTanh, MatchSilu, MatchHardSigmoid};
  Readers readers(*graph);
  bool changed = false;
  for (FusionRule rule : rules) {
    const size_t count = graph->node_count();  // fused nodes added below are not anchors
    for (size_t n = 0; n < count; ++n) {
      Fusion fusion;
      if (rule(*graph, readers, static_cast<int>(n), &fusion))
        changed |= ApplyFusion(fusion, options, graph, &readers, folded);
    }
  }
  if (changed) EliminateDeadNodes(graph);
}

}  // namespace mixq::passes
