// A small, strict command-line parser shared by every subcommand.
//
// Conventions (all subcommands): `--name value` or `--name=value`; `--help` prints usage and
// exits 0; a usage error prints one line to stderr and exits 2; a runtime error prints one line
// and exits 1. Unknown flags are usage errors, never ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hetsched::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

struct FlagSpec {
  std::string name;       // without the leading "--"
  std::string value_name; // "" for a boolean switch
  std::string help;       // one line
  bool repeatable = false;
};

struct CommandSpec {
  std::string usage;      // e.g. "hetsched trace info FILE"
  std::string summary;    // one line
  std::vector<FlagSpec> flags;
  int min_positional = 0;
  int max_positional = 0;  // -1 = unlimited
};

class Args {
 public:
  // Parses argv (without the subcommand words). On --help prints usage to stdout and sets
  // exit_code = 0; on a usage error prints "hetsched: <message>" to stderr and sets exit_code = 2.
  static Args parse(const CommandSpec& spec, const std::vector<std::string>& argv);

  std::optional<int> exit_code;  // set when the caller must return immediately
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> get_all(const std::string& name) const;
  // Typed getters print a usage error (and set exit_code = 2) on a malformed number.
  std::optional<std::int64_t> get_int(const std::string& name, std::int64_t fallback);
  std::optional<double> get_double(const std::string& name, double fallback);

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

std::string format_usage(const CommandSpec& spec);

// Print "hetsched: message" to stderr and return code (for one-line error returns).
int fail(int code, const std::string& message);

}  // namespace hetsched::tools
