// hetsched calibrate: derive env/platforms/<platform>.costs.json from ../shared/calibration.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "env/calib_fit.hpp"
#include "policies/platform.hpp"
#include "tools/args.hpp"
#include "tools/commands.hpp"

namespace hetsched::tools {
namespace {

int cmd_calibrate(const std::vector<std::string>& argv) {
  const CommandSpec spec{
      "hetsched calibrate --platform P [--calibration DIR] [--out FILE]",
      "fit the cost model of a platform on the measured tables and write <platform>.costs.json",
      {{"platform", "P", "platform name (env/platforms/P.json)"},
       {"calibration", "DIR", "calibration data (default: <repo>/../shared/calibration)"},
       {"out", "FILE", "output file (default: env/platforms/P.costs.json)"}},
      0, 0};
  Args a = Args::parse(spec, argv);
  if (a.exit_code) return *a.exit_code;
  if (!a.has("platform")) return fail(kExitUsage, "calibrate: --platform is required");
  const std::string data = data_dir();
  auto p = policies::load_platform_by_name(data, a.get("platform"));
  if (!p.ok()) return fail(kExitRuntime, p.status().message());
  env::CalibOptions o;
  o.data_dir = data;
  o.calib_dir = a.get("calibration", data + "/../shared/calibration");
  if (!std::filesystem::is_directory(o.calib_dir))
    return fail(kExitRuntime, "calibration directory '" + o.calib_dir + "' not found (use --calibration DIR)");
  auto j = env::calibrate(*p, o);
  if (!j.ok()) return fail(kExitRuntime, j.status().message());
  const std::string out = a.get("out", data + "/env/platforms/" + p->name + ".costs.json");
  std::ofstream f(out);
  if (!f) return fail(kExitRuntime, out + ": cannot write");
  f << j->dump(1) << "\n";
  if (!f) return fail(kExitRuntime, out + ": write failed");
  std::cout << "wrote " << out << "\n";
  return kExitOk;
}

const CommandRegistrar kReg{"calibrate", "fit a platform's cost model on ../shared/calibration", cmd_calibrate};

}  // namespace
}  // namespace hetsched::tools
