#include "tools/args.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace hetsched::tools {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "hetsched: %s\n", message.c_str());
  return code;
}

std::string format_usage(const CommandSpec& spec) {
  std::string out = "usage: " + spec.usage + "\n\n" + spec.summary + "\n";
  if (!spec.flags.empty()) out += "\noptions:\n";
  for (const auto& f : spec.flags) {
    std::string left = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    out += left + f.help + (f.repeatable ? " (repeatable)" : "") + "\n";
  }
  out += "  --help                    show this help\n";
  return out;
}

Args Args::parse(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args a;
  auto usage_error = [&](const std::string& msg) {
    fail(kExitUsage, msg + " (see --help)");
    a.exit_code = kExitUsage;
    return a;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << format_usage(spec);
      a.exit_code = kExitOk;
      return a;
    }
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      std::string name = arg.substr(2), value;
      bool has_inline = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      const FlagSpec* flag = nullptr;
      for (const auto& f : spec.flags)
        if (f.name == name) flag = &f;
      if (!flag) return usage_error("unknown option '--" + name + "'");
      if (flag->value_name.empty()) {
        if (has_inline) return usage_error("option '--" + name + "' takes no value");
        value = "1";
      } else if (!has_inline) {
        if (i + 1 >= argv.size()) return usage_error("option '--" + name + "' needs a value " + flag->value_name);
        value = argv[++i];
      }
      if (!flag->repeatable && a.values_.count(name))
        return usage_error("option '--" + name + "' given twice");
      a.values_[name].push_back(value);
      continue;
    }
    a.positional.push_back(arg);
  }
  const int n = static_cast<int>(a.positional.size());
  if (n < spec.min_positional) return usage_error("missing argument; usage: " + spec.usage);
  if (spec.max_positional >= 0 && n > spec.max_positional)
    return usage_error("unexpected argument '" + a.positional[spec.max_positional] + "'");
  return a;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<std::int64_t> Args::get_int(const std::string& name, std::int64_t fallback) {
  if (!has(name)) return fallback;
  const std::string s = get(name);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    fail(kExitUsage, "option '--" + name + "' expects an integer, got '" + s + "'");
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return v;
}

std::optional<double> Args::get_double(const std::string& name, double fallback) {
  if (!has(name)) return fallback;
  const std::string s = get(name);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    fail(kExitUsage, "option '--" + name + "' expects a number, got '" + s + "'");
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return v;
}

}  // namespace hetsched::tools
