#include "cli.h"

#include <CLI/CLI.hpp>
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

// The tokenizing and matching (--name VALUE, --name=VALUE, -o VALUE, -oVALUE,
// "--", positionals, unknown options) is CLI11's; what is checked here after it
// is what CLI11 cannot say in mixq's words: the one-line messages below are the
// tool's documented interface (tests/python/test_cli.py).
Status Args::Parse(const std::vector<std::string>& args) {
  // --help / -h anywhere before "--" shows the help, whatever else is wrong.
  for (const auto& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      return Status::OK();
    }
  }
  CLI::App app(description_, "mixq " + verb_);
  app.set_help_flag();  // help text and help flags are ours (above, and Help())
  app.allow_extras();   // unknown options are reported below, by name
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, int64_t> switch_counts;
  for (const auto& flag : flags_) {
    const std::string names = (flag.short_name.empty() ? "" : "-" + flag.short_name + ",") + "--" + flag.name;
    if (flag.is_switch) {
      app.add_flag(names, switch_counts[flag.name])->disable_flag_override();
    } else {
      // One value per occurrence; repeats are collected and judged below.
      app.add_option(names, values[flag.name])
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
  }
  std::vector<std::string> positionals;
  app.add_option("positionals", positionals);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    // A value flag at the end without its value, or a switch given one.
    for (const auto& flag : flags_) {
      const std::string long_name = "--" + flag.name, short_name = "-" + flag.short_name;
      for (size_t i = 0; i < args.size() && args[i] != "--"; ++i) {
        const bool named = args[i] == long_name || (!flag.short_name.empty() && args[i] == short_name);
        if (!flag.is_switch && named && i + 1 == args.size())
          return InvalidArgument("option --", flag.name, " needs a value ", flag.value_name);
        if (flag.is_switch && args[i].rfind(long_name + "=", 0) == 0)
          return InvalidArgument("option --", flag.name, " takes no value");
      }
    }
    return InvalidArgument(error.what(), " (see mixq ", verb_, " --help)");
  }
  for (const auto& extra : app.remaining()) {
    if (extra == "--") continue;  // CLI11 keeps the separator among the extras
    return InvalidArgument("unknown option '", extra, "' (see mixq ", verb_, " --help)");
  }
  if (positionals.size() > positionals_.size())
    return InvalidArgument("unexpected argument '", positionals[positionals_.size()], "' (see mixq ", verb_,
                           " --help)");
  if (positionals.size() < positionals_.size())
    return InvalidArgument("missing argument ", positionals_[positionals.size()].first, " (see mixq ", verb_,
                           " --help)");
  for (const auto& flag : flags_) {
    if (flag.is_switch) {
      if (switch_counts[flag.name] > 0) values_[flag.name].push_back("1");
      continue;
    }
    auto& given = values[flag.name];
    if (given.size() > 1 && !flag.repeated) return InvalidArgument("option --", flag.name, " given more than once");
    if (!given.empty()) values_[flag.name] = std::move(given);
  }
  positional_values_ = std::move(positionals);
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
