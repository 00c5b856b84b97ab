// Writes docs/operators.md from the operator schemas (the one source of truth):
// inputs, attributes with defaults, and which inputs can be quantized.
// Usage: mixq_gen_op_docs [OUT_FILE]   (stdout without an argument)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ops/op_schema.h"

namespace {

std::string ValueText(const mixq::ir::AttrValue& v) {
  std::ostringstream out;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out << '"' << x << '"';
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<float>>) {
          out << '[';
          for (size_t i = 0; i < x.size(); ++i) out << (i ? ", " : "") << x[i];
          out << ']';
        } else {
          out << x;
        }
      },
      v);
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mixq;
  std::ostringstream doc;
  doc << "# mixq operators\n\n"
      << "Generated from the operator schemas by `mixq_gen_op_docs` (do not edit by hand;\n"
      << "`scripts/test` fails when this file is stale).\n\n"
      << "## Quantized inputs\n\n"
      << "| operator | inputs that may be QINT8 / QINT16 | weight input (per-axis granularity) |\n"
      << "|---|---|---|\n";
  for (const ops::OpSchema* s : ops::AllSchemas()) {
    if (s->quant.quantizable_inputs.empty()) continue;
    doc << "| " << s->name << " | ";
    for (size_t i = 0; i < s->quant.quantizable_inputs.size(); ++i)
      doc << (i ? ", " : "") << s->InputName(static_cast<size_t>(s->quant.quantizable_inputs[i]));
    doc << " | ";
    if (s->quant.weight_input >= 0)
      doc << s->InputName(static_cast<size_t>(s->quant.weight_input)) << ", one range per slice of axis "
          << s->quant.weight_axis << " (output channels)";
    else
      doc << "-";
    doc << " |\n";
  }
  doc << "\nAll other operators take float inputs (FLOAT32, or FLOAT16 storage).\n";
  for (const ops::OpSchema* s : ops::AllSchemas()) {
    doc << "\n## " << s->name << "\n\n" << s->summary << "\n\n";
    doc << "Inputs: ";
    if (s->input_names.empty()) doc << "none";
    for (size_t i = 0; i < s->input_names.size(); ++i)
      doc << (i ? ", " : "") << "`" << s->input_names[i] << "`"
          << (static_cast<int>(i) >= s->min_inputs ? " (optional)" : "");
    if (s->variadic_inputs) doc << " (one or more)";
    doc << ". Outputs: " << s->min_outputs;
    if (s->max_outputs != s->min_outputs) doc << " to " << s->max_outputs;
    doc << ".\n";
    if (!s->attrs.empty()) {
      doc << "\n| attribute | type | default | meaning |\n|---|---|---|---|\n";
      for (const auto& a : s->attrs)
        doc << "| `" << a.name << "` | " << ir::AttrTypeName(ir::TypeOf(a.default_value)) << " | "
            << ValueText(a.default_value) << " | " << a.doc << " |\n";
    }
  }
  if (argc > 1) {
    std::ofstream out(argv[1]);
    out << doc.str();
    if (!out) {
      std::fprintf(stderr, "mixq_gen_op_docs: cannot write %s\n", argv[1]);
      return 1;
    }
  } else {
    std::cout << doc.str();
  }
  return 0;
}
