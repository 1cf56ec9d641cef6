#include "runtime/stress.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace hetsched::runtime {

Result<std::unique_ptr<CpuHog>> CpuHog::start(const std::vector<int>& cpu_ids) {
  if (cpu_ids.empty()) return Error(StatusCode::kInvalidArgument, "stress: no cores given");
  std::unique_ptr<CpuHog> h(new CpuHog());
  for (int c : cpu_ids) {
    if (c < 0 || c >= CPU_SETSIZE) return Error(StatusCode::kOutOfRange, "stress: core " + std::to_string(c) + " outside [0, CPU_SETSIZE)");
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c, &set);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return Error(StatusCode::kUnavailable, std::string("stress: fork: ") + std::strerror(errno));
    if (pid == 0) {
      // Child of a multi-threaded parent: async-signal-safe calls only, then pure ALU work.
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
      if (getppid() != parent) _exit(0);
      setsid();
      if (sched_setaffinity(0, sizeof(set), &set) != 0) _exit(3);
      volatile std::uint64_t x = 1;
      for (;;) x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    h->children_.push_back(pid);
    // Fail fast if the child could not pin itself (it exits with 3 at once).
    usleep(2000);
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      h->children_.pop_back();
      return Error(StatusCode::kPermissionDenied, "stress: cannot pin a hog to core " + std::to_string(c));
    }
  }
  return h;
}

void CpuHog::stop() noexcept {
  for (pid_t p : children_) kill(p, SIGKILL);
  for (pid_t p : children_) waitpid(p, nullptr, 0);
  children_.clear();
}

}  // namespace hetsched::runtime
