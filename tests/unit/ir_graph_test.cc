// IR graph: topological order, cycle and dangling-input detection, verifier messages.
#include <gtest/gtest.h>

#include "ir/graph.h"
#include "ops/graph_verifier.h"

namespace mixq::ir {
namespace {

TEST(Graph, TopologicalOrderPutsProducersFirst) {
  Graph g;
  Value* x = g.AddInput("x", DataType::FLOAT32, {1, 4});
  Node* a = g.AddNode(OpKind::kActivation, "a", {x->id}, 1);
  Node* b = g.AddNode(OpKind::kActivation, "b", {a->outputs[0]}, 1);
  // Rewire a to read b's output: a cycle a -> b -> a.
  std::vector<int> order;
  ASSERT_TRUE(g.TopologicalOrder(&order).ok());
  EXPECT_EQ(order, (std::vector<int>{a->id, b->id}));
  a->inputs[0] = b->outputs[0];
  Status s = g.TopologicalOrder(&order);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("cycle"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("node 'a'"), std::string::npos) << s.message();
}

TEST(Verifier, DanglingInputIsNamed) {
  Graph g;
  Value* x = g.AddInput("x", DataType::FLOAT32, {1, 4});
  Node* a = g.AddNode(OpKind::kActivation, "relu_a", {x->id}, 1);
  g.MarkOutput(a->outputs[0]);
  a->inputs[0] = 42;
  Status s = VerifyGraph(g);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("relu_a"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dangling"), std::string::npos) << s.message();
}

TEST(Verifier, MissingOutputIsAnError) {
  Graph g;
  Value* x = g.AddInput("x", DataType::FLOAT32, {1, 4});
  g.AddNode(OpKind::kActivation, "relu_a", {x->id}, 1);
  Status s = VerifyGraph(g);
  EXPECT_EQ(s.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.message().find("MarkOutput"), std::string::npos) << s.message();
}

TEST(Verifier, UnknownAttributeIsNamed) {
  Graph g;
  Value* x = g.AddInput("x", DataType::FLOAT32, {1, 4, 4, 1});
  Node* p = g.AddNode(OpKind::kMaxPool2D, "pool", {x->id}, 1);
  g.MarkOutput(p->outputs[0]);
  p->attrs.Set("kernal", std::vector<int64_t>{2, 2});
  Status s = VerifyGraph(g);
  EXPECT_NE(s.message().find("'kernal'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("node 'pool'"), std::string::npos) << s.message();
}

TEST(Verifier, InfersShapesAndKeepsDynamicDims) {
  Graph g;
  Value* x = g.AddInput("x", DataType::FLOAT32, {-1, -1, -1, 3});
  Node* p = g.AddNode(OpKind::kMaxPool2D, "pool", {x->id}, 1);
  g.MarkOutput(p->outputs[0]);
  ASSERT_TRUE(VerifyGraph(g).ok());
  EXPECT_EQ(g.value(p->outputs[0])->shape, (Shape{-1, -1, -1, 3}));
}

}  // namespace
}  // namespace mixq::ir
