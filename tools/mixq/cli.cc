#include "cli.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "util/status_util.h"

namespace mixq::cli {

Args::Args(std::string verb, std::string synopsis, std::string description)
    : verb_(std::move(verb)), synopsis_(std::move(synopsis)), description_(std::move(description)) {}

void Args::AddFlag(const std::string& name, const std::string& short_name, const std::string& value_name,
                   const std::string& help, bool repeated) {
  flags_.push_back(Flag{name, short_name, value_name, help, repeated, false});
}

void Args::AddSwitch(const std::string& name, const std::string& help) {
  flags_.push_back(Flag{name, "", "", help, false, true});
}

void Args::AddPositional(const std::string& name, const std::string& help) {
  positionals_.emplace_back(name, help);
}

const Args::Flag* Args::Find(const std::string& name) const {
  for (const auto& f : flags_)
    if (f.name == name || (!f.short_name.empty() && f.short_name == name)) return &f;
  return nullptr;
}

Status Args::Parse(const std::vector<std::string>& args) {
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!flags_done && (arg == "--help" || arg == "-h")) {
      help_ = true;
      return Status::OK();
    }
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    const bool is_long = !flags_done && arg.size() > 2 && arg.compare(0, 2, "--") == 0;
    const bool is_short = !flags_done && !is_long && arg.size() == 2 && arg[0] == '-' && arg[1] != '-';
    if (!is_long && !is_short) {
      if (!arg.empty() && arg[0] == '-' && arg.size() > 1 && !flags_done)
        return InvalidArgument("unknown option '", arg, "' (see mixq ", verb_, " --help)");
      if (positional_values_.size() >= positionals_.size())
        return InvalidArgument("unexpected argument '", arg, "' (see mixq ", verb_, " --help)");
      positional_values_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(is_long ? 2 : 1), value;
    bool has_value = false;
    if (auto eq = name.find('='); is_long && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (!flag) return InvalidArgument("unknown option '", arg, "' (see mixq ", verb_, " --help)");
    if (flag->is_switch) {
      if (has_value) return InvalidArgument("option --", flag->name, " takes no value");
      values_[flag->name].push_back("1");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgument("option --", flag->name, " needs a value ", flag->value_name);
      value = args[++i];
    }
    auto& list = values_[flag->name];
    if (!flag->repeated && !list.empty()) return InvalidArgument("option --", flag->name, " given more than once");
    list.push_back(value);
  }
  if (positional_values_.size() < positionals_.size())
    return InvalidArgument("missing argument ", positionals_[positional_values_.size()].first, " (see mixq ", verb_,
                           " --help)");
  return Status::OK();
}

std::string Args::Help() const {
  std::ostringstream out;
  out << "usage: mixq " << verb_ << " " << synopsis_ << "\n\n" << description_ << "\n";
  if (!positionals_.empty()) {
    out << "\narguments:\n";
    for (const auto& [name, help] : positionals_) out << "  " << name << "\n      " << help << "\n";
  }
  out << "\noptions:\n";
  for (const auto& f : flags_) {
    out << "  ";
    if (!f.short_name.empty()) out << "-" << f.short_name << ", ";
    out << "--" << f.name;
    if (!f.is_switch) out << " " << f.value_name;
    if (f.repeated) out << "  (repeatable)";
    out << "\n      " << f.help << "\n";
  }
  out << "  -h, --help\n      show this help and exit\n";
  return out.str();
}

bool Args::Has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Status ParseInt(const std::string& text, const std::string& what, int64_t min, int64_t max, int64_t* value) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return InvalidArgument(what, ": '", text, "' is not an integer");
  if (v < min || v > max) return InvalidArgument(what, ": ", v, " is outside [", min, ", ", max, "]");
  *value = v;
  return Status::OK();
}

Status ParseDouble(const std::string& text, const std::string& what, double* value) {
  // strtod, not from_chars: libstdc++'s floating from_chars is recent.
  char* end = nullptr;
  const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return InvalidArgument(what, ": '", text, "' is not a number");
  *value = v;
  return Status::OK();
}

Status ParseDims(const std::string& text, const std::string& what, Dims* dims) {
  std::vector<int64_t> values;
  size_t start = 0;
  while (true) {
    size_t end = text.find_first_of("x,", start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    int64_t v = 0;
    MIXQ_RETURN_IF_ERROR(ParseInt(part, StrCat(what, " dims '", text, "'"), 1, int64_t{1} << 40, &v));
    values.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  *dims = Dims(values);
  return Status::OK();
}

Status ParseNamedDims(const std::string& text, const std::string& flag, std::string* name, Dims* dims) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return InvalidArgument("--", flag, " '", text, "': expected NAME:DIMS, for example x:1x3x224x224");
  *name = text.substr(0, colon);
  return ParseDims(text.substr(colon + 1), StrCat("--", flag, " ", *name), dims);
}

std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

int Fail(const std::string& verb, const Status& status, int code) {
  std::fprintf(stderr, "mixq %s: error: %s\n", verb.c_str(), OneLine(status.message()).c_str());
  return code;
}

int ParseOrExit(Args* parser, const std::string& verb, const std::vector<std::string>& args) {
  Status s = parser->Parse(args);
  if (!s.ok()) return Fail(verb, s, kExitUsage);
  if (parser->HelpRequested()) {
    std::fputs(parser->Help().c_str(), stdout);
    return 0;
  }
  return -1;
}

}  // namespace mixq::cli
