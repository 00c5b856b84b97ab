#include "analysis/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mixq::analysis::svg {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Shorten(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    // A character starts at every byte that is not a UTF-8 continuation byte.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars) return std::string(text.substr(0, i)) + "\u2026";
    ++chars;
  }
  return std::string(text);
}

std::string Num(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Figure(double value) {
  if (!std::isfinite(value)) return Num(value);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

std::string Attr(const char* name, const std::string& value) {
  return std::string(" ") + name + "=\"" + HtmlEscape(value) + "\"";
}

std::string Attr(const char* name, double value, int decimals) {
  return Attr(name, Num(value, decimals));
}

namespace {

std::string Title(const std::string& title) {
  return title.empty() ? std::string() : "<title>" + HtmlEscape(title) + "</title>";
}

}  // namespace

std::string Rect(double x, double y, double width, double height, const std::string& css_class,
                 const std::string& title, const std::string& extra) {
  return "<rect" + Attr("x", x, 1) + Attr("y", y, 1) + Attr("width", std::max(width, 0.0), 1) +
         Attr("height", height, 1) + Attr("class", css_class) + extra + ">" + Title(title) + "</rect>";
}

std::string Text(double x, double y, const std::string& text, const std::string& css_class, const char* anchor) {
  return "<text" + Attr("x", x, 1) + Attr("y", y, 1) + (css_class.empty() ? "" : Attr("class", css_class)) +
         Attr("text-anchor", anchor) + ">" + HtmlEscape(text) + "</text>";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& css_class) {
  return "<line" + Attr("x1", x1, 1) + Attr("y1", y1, 1) + Attr("x2", x2, 1) + Attr("y2", y2, 1) +
         Attr("class", css_class) + "/>";
}

std::string Circle(double cx, double cy, double r, const std::string& css_class, const std::string& title,
                   const std::string& extra) {
  return "<circle" + Attr("cx", cx, 1) + Attr("cy", cy, 1) + Attr("r", r, 1) + Attr("class", css_class) + extra + ">" +
         Title(title) + "</circle>";
}

std::vector<double> Ticks(double lo, double hi, int count) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

}  // namespace mixq::analysis::svg
