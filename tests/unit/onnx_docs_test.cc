// docs/onnx.md lists the ONNX ops the importer maps; the list between the
// markers must equal the rule table (regenerate it from the failure output).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "frontend/onnx/rules.h"

namespace mixq::onnx_import {
namespace {

TEST(OnnxDocs, OpTableMatchesTheRuleTable) {
  std::ifstream in(std::string(MIXQ_SOURCE_DIR) + "/docs/onnx.md");
  ASSERT_TRUE(in) << "docs/onnx.md is missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- BEGIN ONNX OP TABLE (generated from the rule table; onnx_docs_test checks it) -->\n";
  const std::string end = "<!-- END ONNX OP TABLE -->";
  const auto b = doc.find(begin), e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string table = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(table, RuleTableMarkdown()) << "docs/onnx.md is stale; the table should read:\n" << RuleTableMarkdown();
}

TEST(OnnxDocs, EveryRuleHasADistinctOpType) {
  const auto& rules = AllRules();
  for (size_t i = 1; i < rules.size(); ++i) EXPECT_STRNE(rules[i - 1].op_type, rules[i].op_type);
  for (const Rule& rule : rules) EXPECT_TRUE(rule.map || rule.fold) << rule.op_type;
}

}  // namespace
}  // namespace mixq::onnx_import
