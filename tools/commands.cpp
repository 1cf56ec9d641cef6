#include "tools/commands.hpp"

#include <algorithm>
#include <cstdlib>

namespace hetsched::tools {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> table;  // function-local: safe against static-init order
  return table;
}
}  // namespace

CommandRegistrar::CommandRegistrar(const char* name, const char* summary, CommandFn run) {
  auto& t = registry();
  t.push_back({name, summary, run});
  std::sort(t.begin(), t.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
}

const std::vector<Command>& commands() { return registry(); }

std::string data_dir() {
  if (const char* d = std::getenv("HETSCHED_DATA_DIR"); d != nullptr && *d != '\0') return d;
  return HETSCHED_DEFAULT_DATA_DIR;
}

}  // namespace hetsched::tools
