// The rules of TunePrecision's prefer_faster steps (analysis/tune_steps.h),
// driven by fakes: which plans meet the target and what each plan measures
// are set by the test, so every decision is checked exactly.
#include "analysis/tune_steps.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mixq::analysis {
namespace {

using Plan = std::map<std::string, std::string>;

// Operators a (most harmful) .. c; the greedy search promoted all three, a first.
AccuracyAnalysis Ranking() {
  AccuracyAnalysis analysis;
  for (const char* node : {"a", "b", "c"}) {
    OperatorImpact op;
    op.node = node;
    op.precision = "QINT8 in / FLOAT32 out";
    analysis.ranking.push_back(op);
  }
  return analysis;
}

struct Fake {
  std::function<bool(const Plan&)> meets;
  std::function<double(const Plan&)> ms;  // what a plan measures when timed
  std::vector<Plan> evaluated, timed;
  TuneResult result;

  Status Evaluate(const Plan& plan) {
    evaluated.push_back(plan);
    TuneCandidate c;
    c.node_precision = plan;
    c.meets_target = meets(plan);
    result.trajectory.push_back(c);
    return Status::OK();
  }
  Status Pair(const Plan& a, const Plan& b, double* a_ms, double* b_ms) {
    timed.push_back(b);
    *a_ms = ms(a);
    *b_ms = ms(b);
    return Status::OK();
  }
  Status Drop(const Plan& configured, double budget = 1e9, double spent = 0) {
    TuneOptions options;
    options.time_budget_seconds = budget;
    return DropPromotions(
        Ranking(), configured, [&] { return spent; }, options, [&](const Plan& p) { return Evaluate(p); },
        [&](const Plan& a, const Plan& b, double* x, double* y) { return Pair(a, b, x, y); }, &result);
  }
  Status Faster() {
    TuneOptions options;
    return PreferFaster(
        Ranking(), [] { return 0.0; }, options, [&](const Plan& p) { return Evaluate(p); },
        [&](const Plan& a, const Plan& b, double* x, double* y) { return Pair(a, b, x, y); }, &result);
  }
};

double Cost(const Plan& plan) {  // each promotion costs 1 ms on a 100 ms plan
  return 100.0 + static_cast<double>(plan.size());
}

TEST(TuneSteps, DropsThePromotionsThePlanDoesNotNeedLatestFirst) {
  Fake fake;
  fake.meets = [](const Plan& p) { return p.count("a") > 0; };  // only a's promotion matters
  fake.ms = Cost;
  fake.result.chosen.node_precision = {{"a", "qint16"}, {"b", "float16"}, {"c", "float32"}};
  ASSERT_TRUE(fake.Drop({}).ok());
  // c (promoted last) first, then b, then a, each on the best plan so far.
  const std::vector<Plan> want = {{{"a", "qint16"}, {"b", "float16"}}, {{"a", "qint16"}}, {}};
  EXPECT_EQ(fake.evaluated, want);
  ASSERT_EQ(fake.result.comparisons.size(), 2u);  // the plan without a misses: not timed
  for (const TuneComparison& c : fake.result.comparisons) {
    EXPECT_TRUE(c.dropped);
    EXPECT_TRUE(c.kept);
    EXPECT_EQ(c.variant.size() + 1, c.best.size());
  }
  EXPECT_EQ(fake.result.chosen.node_precision, (Plan{{"a", "qint16"}}));
}

TEST(TuneSteps, KeepsAPromotionWhoseRemovalMeasuresSlower) {
  Fake fake;
  fake.meets = [](const Plan&) { return true; };
  // Without b the plan measures slower (say, b's float16 island saved a
  // conversion); without c it measures the same, which is kept.
  fake.ms = [](const Plan& p) { return p.count("b") ? 100.0 : 100.5; };
  fake.result.chosen.node_precision = {{"b", "float16"}, {"c", "float32"}};
  ASSERT_TRUE(fake.Drop({}).ok());
  ASSERT_EQ(fake.result.comparisons.size(), 2u);
  EXPECT_EQ(fake.result.comparisons[0].variant, (Plan{{"b", "float16"}}));
  EXPECT_TRUE(fake.result.comparisons[0].kept);  // 100.0 <= 100.0
  EXPECT_EQ(fake.result.comparisons[1].variant, Plan{});
  EXPECT_FALSE(fake.result.comparisons[1].kept);  // 100.5 > 100.0
  EXPECT_EQ(fake.result.chosen.node_precision, (Plan{{"b", "float16"}}));
}

TEST(TuneSteps, AConfiguredPrecisionIsNotAPromotionAndARaisedOneGoesBackToIt) {
  Fake fake;
  fake.meets = [](const Plan&) { return true; };
  fake.ms = Cost;
  // The user set a to qint16 and b to float16; the search raised b to float32 and promoted c.
  fake.result.chosen.node_precision = {{"a", "qint16"}, {"b", "float32"}, {"c", "float16"}};
  ASSERT_TRUE(fake.Drop({{"a", "qint16"}, {"b", "float16"}}).ok());
  const std::vector<Plan> want = {{{"a", "qint16"}, {"b", "float32"}}, {{"a", "qint16"}, {"b", "float16"}}};
  EXPECT_EQ(fake.evaluated, want);  // a is never touched
  EXPECT_EQ(fake.result.chosen.node_precision, (Plan{{"a", "qint16"}, {"b", "float16"}}));
}

TEST(TuneSteps, StopsWhenTheBudgetIsSpent) {
  Fake fake;
  fake.meets = [](const Plan&) { return true; };
  fake.ms = Cost;
  fake.result.chosen.node_precision = {{"a", "qint16"}};
  fake.result.stop_reason = "target met";
  ASSERT_TRUE(fake.Drop({}, /*budget=*/10, /*spent=*/11).ok());
  EXPECT_TRUE(fake.evaluated.empty());
  EXPECT_EQ(fake.result.stop_reason, "target met; time budget spent while dropping promotions");
  EXPECT_EQ(fake.result.chosen.node_precision, (Plan{{"a", "qint16"}}));
}

TEST(TuneSteps, PreferFasterKeepsAVariantOnlyWhenFivePercentFaster) {
  Fake fake;
  fake.meets = [](const Plan&) { return true; };
  // a: qint16 100 ms, float16 96 ms (4 %: not enough), float32 94 ms (6 %: kept).
  fake.ms = [](const Plan& p) {
    const std::string& a = p.at("a");
    return a == "qint16" ? 100.0 : a == "float16" ? 96.0 : 94.0;
  };
  fake.result.chosen.node_precision = {{"a", "qint16"}};
  ASSERT_TRUE(fake.Faster().ok());
  ASSERT_EQ(fake.result.comparisons.size(), 2u);
  EXPECT_FALSE(fake.result.comparisons[0].dropped);
  EXPECT_FALSE(fake.result.comparisons[0].kept);
  EXPECT_TRUE(fake.result.comparisons[1].kept);
  EXPECT_EQ(fake.result.chosen.node_precision, (Plan{{"a", "float32"}}));
}

}  // namespace
}  // namespace mixq::analysis
