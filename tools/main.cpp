// hetsched: one executable, many subcommands (`hetsched --help` lists them).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace {

void print_help() {
  std::cout << "usage: hetsched <command> [options]   (hetsched <command> --help for details)\n\n"
               "hetsched: adaptive online scheduling of DL inference on heterogeneous SoCs.\n\n"
               "commands:\n";
  for (const auto& c : hetsched::tools::commands()) {
    std::string name = c.name;
    name.resize(12, ' ');
    std::cout << "  " << name << c.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hetsched::tools;
  if (argc < 2) {
    print_help();
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help();
    return kExitOk;
  }
  if (name == "--version") {
    std::cout << "hetsched " << HETSCHED_VERSION << "\n";
    return kExitOk;
  }
  for (const auto& c : commands()) {
    if (name == c.name) {
      std::vector<std::string> rest(argv + 2, argv + argc);
      try {
        return c.run(rest);
      } catch (const std::exception& e) {  // last line of defence: never a crash
        return fail(kExitRuntime, std::string("internal error: ") + e.what());
      }
    }
  }
  return fail(kExitUsage, "unknown command '" + name + "' (hetsched --help lists them)");
}
