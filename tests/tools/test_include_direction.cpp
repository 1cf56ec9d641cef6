// The dependency direction of the design card, checked on the real source tree:
//   telemetry/  includes nothing of ours (only telemetry/ itself);
//   policies/   never includes env/, agent/, runtime/ (runtime depends on it);
//   agent/      never includes env/ or runtime/;
//   runtime/    never includes env/ or agent/: the embedded library builds without them (online
//               learning comes in through policies/learner.hpp; agent/online_runtime.* implements it);
//   env/        never includes runtime/ implementation headers (runtime/include/hetsched/ is public API).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Violation {
  std::string file;
  int line;
  std::string include;
};

bool forbidden(const std::string& folder, const std::string& inc) {
  auto starts = [&](const char* p) { return inc.rfind(p, 0) == 0; };
  if (folder == "telemetry")
    return starts("env/") || starts("agent/") || starts("runtime/") || starts("policies/") || starts("tools/") ||
           starts("hetsched/");
  if (folder == "policies") return starts("env/") || starts("agent/") || starts("runtime/") || starts("tools/");
  if (folder == "agent") return starts("env/") || starts("runtime/") || starts("tools/");
  if (folder == "runtime") return starts("env/") || starts("agent/") || starts("tools/");
  if (folder == "env") return (starts("runtime/") && !starts("runtime/include/hetsched/")) || starts("tools/");
  return false;
}

// Scans root/<folder> for #include lines that break the rules above.
std::vector<Violation> scan(const fs::path& root) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::vector<Violation> out;
  for (const char* folder : {"telemetry", "policies", "agent", "runtime", "env"}) {
    const fs::path dir = root / folder;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      const auto ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h" && ext != ".cc")) continue;
      std::ifstream in(entry.path());
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        ++n;
        std::smatch m;
        if (std::regex_search(line, m, kInclude) && forbidden(folder, m[1].str()))
          out.push_back({fs::relative(entry.path(), root).string(), n, m[1].str()});
      }
    }
  }
  return out;
}

std::string describe(const std::vector<Violation>& v) {
  std::string s;
  for (const auto& x : v) s += x.file + ":" + std::to_string(x.line) + " includes " + x.include + "\n";
  return s;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST(IncludeDirection, SourceTreeFollowsTheDesignCard) {
  const auto v = scan(HETSCHED_SOURCE_DIR);
  EXPECT_TRUE(v.empty()) << describe(v);
}

// The checker itself must catch each forbidden direction (otherwise the test above proves nothing).
TEST(IncludeDirection, CheckerCatchesEveryForbiddenDirection) {
  const fs::path root = fs::path(testing::TempDir()) / "hetsched_include_direction";
  fs::remove_all(root);
  write(root / "runtime/pipeline.cpp", "#include \"env/sim.hpp\"\n#include <agent/dqn.hpp>\n#include \"policies/x.hpp\"\n");
  write(root / "env/sim.cpp",
        "#include \"runtime/linux_sysfs.hpp\"\n#include \"runtime/include/hetsched/runtime.hpp\"\n");
  write(root / "telemetry/ring.hpp", "#include \"policies/model.hpp\"\n#include \"telemetry/status.hpp\"\n");
  write(root / "agent/dqn.cpp", "  #  include \"env/rl_env.hpp\"\n#include \"policies/policy.hpp\"\n");
  write(root / "policies/policy.hpp", "#include \"runtime/x.hpp\"\n");
  write(root / "runtime/online_learning.cpp", "#include \"agent/dqn.hpp\"\n#include \"env/rl_env.hpp\"\n");
  const auto v = scan(root);
  ASSERT_EQ(v.size(), 8u) << describe(v);
  const std::string d = describe(v);
  EXPECT_NE(d.find("runtime/pipeline.cpp:1 includes env/sim.hpp"), std::string::npos) << d;
  EXPECT_NE(d.find("runtime/pipeline.cpp:2 includes agent/dqn.hpp"), std::string::npos) << d;
  EXPECT_NE(d.find("env/sim.cpp:1 includes runtime/linux_sysfs.hpp"), std::string::npos) << d;
  EXPECT_EQ(d.find("runtime/include/hetsched/runtime.hpp"), std::string::npos) << d;  // public API is fine
  EXPECT_NE(d.find("telemetry/ring.hpp:1 includes policies/model.hpp"), std::string::npos) << d;
  EXPECT_NE(d.find("agent/dqn.cpp:1 includes env/rl_env.hpp"), std::string::npos) << d;
  EXPECT_NE(d.find("policies/policy.hpp:1 includes runtime/x.hpp"), std::string::npos) << d;
  EXPECT_NE(d.find("runtime/online_learning.cpp:1 includes agent/dqn.hpp"), std::string::npos) << d;  // no exception
  EXPECT_NE(d.find("runtime/online_learning.cpp:2 includes env/rl_env.hpp"), std::string::npos) << d;
  fs::remove_all(root);
}
