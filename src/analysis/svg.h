// Small helpers that write inline SVG and HTML text for the accuracy report
// (html_report.cc): escaping, numbers, shapes and axis ticks. Every string
// that reaches the page from a model (node and tensor names) goes through
// HtmlEscape: ONNX files are untrusted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mixq::analysis::svg {

// & < > " ' as entities: safe in element text and in quoted attribute values.
std::string HtmlEscape(std::string_view text);
// At most `max_chars` characters (UTF-8 aware), "…" appended when cut.
std::string Shorten(std::string_view text, size_t max_chars);

// A number for an attribute or a label: fixed with `decimals` digits; "inf",
// "-inf" and "nan" as words (never printf's platform spelling).
std::string Num(double value, int decimals = 2);
// A measured figure for people: about 4 significant digits.
std::string Figure(double value);

// Shapes; `css_class` and the tooltip (`title`, shown on hover) are escaped
// here, `extra` is written as given (attributes the caller built with Attr).
std::string Rect(double x, double y, double width, double height, const std::string& css_class,
                 const std::string& title = "", const std::string& extra = "");
std::string Text(double x, double y, const std::string& text, const std::string& css_class = "",
                 const char* anchor = "start");
std::string Line(double x1, double y1, double x2, double y2, const std::string& css_class);
std::string Circle(double cx, double cy, double r, const std::string& css_class, const std::string& title = "",
                   const std::string& extra = "");
// name="value" with the value escaped, preceded by a space.
std::string Attr(const char* name, const std::string& value);
std::string Attr(const char* name, double value, int decimals = 6);

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them.
std::vector<double> Ticks(double lo, double hi, int count);

}  // namespace mixq::analysis::svg
