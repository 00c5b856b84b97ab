// The two steps of TunePrecision's prefer_faster (include/mixq/tune.h), run
// on the plan that first met the target. Templates over how a candidate is
// evaluated and how two plans are timed, so that tests can drive them with
// fakes (tests/unit/tune_steps_test.cc): timing is machine noise, the rules
// applied to the times are not.
//
// `evaluate(node_precision)` builds and scores a candidate and appends it to
// result->trajectory; `pair(a, b, &a_ms, &b_ms)` times two plans in turn.
#pragma once

#include <map>
#include <string>

#include "mixq/analysis.h"
#include "mixq/tune.h"
#include "util/status_util.h"

namespace mixq::analysis {

// The promotion ladder; an operator starts at the level its plan gives it.
constexpr const char* kLadder[] = {"qint8", "qint16", "float16", "float32"};
constexpr int kLevels = 4;

// The ladder level of a precision report string such as "QINT8 in / FLOAT32 out".
inline int LevelOf(const std::string& precision) {
  if (precision.find("QINT8") != std::string::npos) return 0;
  if (precision.find("QINT16") != std::string::npos) return 1;
  if (precision.find("FLOAT16") != std::string::npos) return 2;  // BFLOAT16 too
  return 3;
}

// The candidate just evaluated (the last of the trajectory), when it meets
// the target, timed in turn with the best plan so far and kept (made the
// chosen one) by the rule of its step: a dropped promotion when no slower,
// another precision when at least 5 % faster (TuneComparison).
template <typename Pair>
Status CompareWithBest(bool dropped, Pair pair, TuneResult* result) {
  const TuneCandidate& c = result->trajectory.back();
  if (!c.meets_target) return Status::OK();
  TuneComparison comparison;
  comparison.best = result->chosen.node_precision;
  comparison.variant = c.node_precision;
  comparison.dropped = dropped;
  MIXQ_RETURN_IF_ERROR(pair(comparison.best, comparison.variant, &comparison.best_ms, &comparison.variant_ms));
  comparison.kept =
      dropped ? comparison.variant_ms <= comparison.best_ms : comparison.variant_ms < 0.95 * comparison.best_ms;
  if (comparison.kept) result->chosen = c;
  result->comparisons.push_back(std::move(comparison));
  return Status::OK();
}

// TuneOptions::prefer_faster, first step: the promotions the meeting plan
// may not need. The greedy search promotes by harm, and a promotion that
// helped when it was made may be carried by later ones. Latest promotion
// first (the reverse of the harm order), each is taken back to its starting
// precision (the configured one, or the mode's) on the best plan so far; the
// plan without it is kept when it still meets the target and measures no
// slower, the two timed in turn. No margin, unlike PreferFaster below: one
// operator is a few percent of a network at most, so a 5 % margin would keep
// every promotion, and a plan with fewer promotions is the smaller change.
template <typename Spent, typename Evaluate, typename Pair>
Status DropPromotions(const AccuracyAnalysis& analysis, const std::map<std::string, std::string>& configured,
                      Spent spent, const TuneOptions& options, Evaluate evaluate, Pair pair, TuneResult* result) {
  for (auto op = analysis.ranking.rbegin(); op != analysis.ranking.rend(); ++op) {
    const auto at = result->chosen.node_precision.find(op->node);
    if (at == result->chosen.node_precision.end()) continue;
    const auto set = configured.find(op->node);
    if (set != configured.end() && set->second == at->second) continue;  // as configured: not a promotion
    if (spent() > options.time_budget_seconds) {
      result->stop_reason = "target met; time budget spent while dropping promotions";
      return Status::OK();
    }
    std::map<std::string, std::string> variant = result->chosen.node_precision;
    if (set != configured.end())
      variant[op->node] = set->second;
    else
      variant.erase(op->node);
    MIXQ_RETURN_IF_ERROR(evaluate(variant));
    MIXQ_RETURN_IF_ERROR(CompareWithBest(/*dropped=*/true, pair, result));
  }
  return Status::OK();
}

// TuneOptions::prefer_faster, second step: each operator the meeting plan promoted is
// tried at its other precisions above where it started, one at a time on the
// best plan so far; a variant is kept when it meets the target and measured
// at least 5 % faster than the best plan, the two timed in turn (`pair`: the
// margin and the pairing keep timing noise from deciding).
template <typename Spent, typename Evaluate, typename Pair>
Status PreferFaster(const AccuracyAnalysis& analysis, Spent spent, const TuneOptions& options, Evaluate evaluate,
                    Pair pair, TuneResult* result) {
  std::map<std::string, int> start;  // node -> its level in the starting plan
  for (const OperatorImpact& op : analysis.ranking) start[op.node] = LevelOf(op.precision);
  const std::map<std::string, std::string> promoted = result->chosen.node_precision;
  for (const auto& [node, precision] : promoted) {
    const auto it = start.find(node);
    if (it == start.end()) continue;  // set by the configuration, not by the search
    for (int level = it->second + 1; level < kLevels; ++level) {
      if (spent() > options.time_budget_seconds) {
        result->stop_reason = "target met; time budget spent while trying faster variants";
        return Status::OK();
      }
      if (result->chosen.node_precision.at(node) == kLadder[level]) continue;
      std::map<std::string, std::string> variant = result->chosen.node_precision;
      variant[node] = kLadder[level];
      MIXQ_RETURN_IF_ERROR(evaluate(variant));
      MIXQ_RETURN_IF_ERROR(CompareWithBest(/*dropped=*/false, pair, result));
    }
  }
  return Status::OK();
}

}  // namespace mixq::analysis
