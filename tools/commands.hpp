// The subcommand table of the single `hetsched` executable. Each subcommand lives in its own
// tools/cmd_*.cpp and registers itself with a file-scope registrar:
//
//   static const hetsched::tools::CommandRegistrar kReg{"trace", "inspect traces", cmd_trace};
//
// The executable compiles every tools/*.cpp directly (not through a static library), so the
// registrars are never dropped by the linker.
#pragma once

#include <string>
#include <vector>

namespace hetsched::tools {

// argv holds the words after the subcommand name. Returns the process exit code
// (0 ok, 1 runtime error, 2 usage error).
using CommandFn = int (*)(const std::vector<std::string>& argv);

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

// All registered commands, sorted by name.
const std::vector<Command>& commands();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn run);
};

// Directory holding the project's data files (env/platforms, env/models, env/scenarios ...):
// $HETSCHED_DATA_DIR if set, else the source tree the binary was built from.
std::string data_dir();

}  // namespace hetsched::tools
