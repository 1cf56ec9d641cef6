// hetsched validate: MAPE of the calibrated cost model against every measured set of a platform.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "env/validate.hpp"
#include "policies/platform.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

int cmd_validate(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched validate --platform P [--calibration DIR] [--out FILE] [--max-rows N] [--no-lomo]",
      "compare the cost model's predictions with every measured set (fit and held-back rows)",
      {{"platform", "P", "platform name (env/platforms/P.json)"},
       {"calibration", "DIR", "calibration data (default: <repo>/../shared/calibration)"},
       {"costs", "FILE", "fitted costs (default: env/platforms/P.costs.json)"},
       {"out", "FILE", "markdown report (default: docs/validation.md for rockpi_n10, else docs/validation-P.md; '-' = stdout only)"},
       {"max-rows", "N", "use only the first N rows of each file (quick check)"},
       {"no-lomo", "", "skip the leave-one-model-out refits"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  if (!a.has("platform")) return fail(kExitUsage, "validate: --platform is required");
  auto max_rows = a.get_int("max-rows", 0);
  if (!max_rows) return kExitUsage;
  if (*max_rows < 0) return fail(kExitUsage, "validate: --max-rows must be >= 0");
  const std::string data = data_dir();
  auto p = policies::load_platform_by_name(data, a.get("platform"));
  if (!p.ok()) return fail(kExitRuntime, p.status().message());
  env::ValidateOptions o;
  o.data_dir = data;
  o.calib_dir = a.get("calibration", data + "/../shared/calibration");
  o.costs_path = a.get("costs");
  o.max_rows_per_file = static_cast<size_t>(*max_rows);
  o.leave_one_model_out = !a.has("no-lomo");
  if (!std::filesystem::is_directory(o.calib_dir))
    return fail(kExitRuntime, "calibration directory '" + o.calib_dir + "' not found (use --calibration DIR)");
  auto r = env::validate_platform(*p, o);
  if (!r.ok()) return fail(kExitRuntime, r.status().message());
  std::string cmd = "hetsched validate --platform " + p->name;
  if (*max_rows > 0) cmd += " --max-rows " + std::to_string(*max_rows);
  const std::string md = env::validation_markdown(*r, cmd);
  std::cout << md;
  // docs/validation.md for the main board, docs/validation-<platform>.md for the others.
  const std::string out = a.get("out", data + (p->name == "rockpi_n10" ? "/docs/validation.md" : "/docs/validation-" + p->name + ".md"));
  if (out != "-") {
    std::ofstream f(out);
    if (!f || !(f << md)) return fail(kExitRuntime, out + ": cannot write");
  }
  return kExitOk;
}

const CommandRegistrar kReg{"validate", "MAPE of the cost model against the measured calibration sets", cmd_validate};

}  // namespace
}  // namespace hetsched::tools
