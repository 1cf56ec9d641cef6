#include "tools/listen.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "policies/agent_file.hpp"
#include "runtime/stream_client.hpp"
#include "runtime/stream_server.hpp"
#include "telemetry/clock.hpp"

namespace hetsched::tools {
namespace {

// Token from the file (trailing whitespace/newline stripped: `echo secret > f` must work), else
// from $HETSCHED_STREAM_TOKEN; "" when neither is given.
Result<std::string> read_token(const std::string& file) {
  std::string t;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status(StatusCode::kIoError, "--token-file " + file + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    t = ss.str();
    if (t.size() > 4096) return Status(StatusCode::kInvalidArgument, "--token-file " + file + ": larger than 4096 bytes");
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
    if (t.empty()) return Status(StatusCode::kInvalidArgument, "--token-file " + file + ": empty token");
    return t;
  }
  if (const char* e = std::getenv("HETSCHED_STREAM_TOKEN")) t = e;
  return t;
}

RealClock& real_clock() {
  static RealClock c;
  return c;
}

}  // namespace

Listener::Listener(std::unique_ptr<runtime::StreamServer> server) : server_(std::move(server)) {}
Listener::~Listener() = default;
telemetry::RecordSink& Listener::sink() noexcept { return *server_; }
std::string Listener::address() const { return server_->address(); }

std::function<Result<runtime::MaskFn>(const policies::PolicyFile&)> agent_masks(
    std::function<Result<policies::PlatformDesc>()> platform, std::function<Result<policies::ModelDesc>()> model, std::string data_dir) {
  return [platform = std::move(platform), model = std::move(model), dir = std::move(data_dir)](
             const policies::PolicyFile& f) -> Result<runtime::MaskFn> {
    auto p = platform();
    if (!p.ok()) return p.status();
    auto m = model();
    if (!m.ok()) return m.status();
    auto a = policies::agent_from_policy_file(f, *p, *m, dir, "pushed policy");
    if (!a.ok()) return a.status();
    std::shared_ptr<const policies::ActionSpace> space = a->space;
    return runtime::MaskFn([space](const policies::Config& c, const policies::MaskInput& in, std::span<std::uint8_t> out) {
      return space->mask(c, in, out);
    });
  };
}

Result<std::unique_ptr<Listener>> start_listen(const ListenOptions& options) {
  runtime::StreamServerOptions so;
  std::string host;
  std::uint16_t port = 0;
  if (Status st = runtime::parse_host_port(options.listen, &host, &port); !st.ok())
    return Status(StatusCode::kInvalidArgument, "--listen " + st.message());
  so.address = host == "localhost" ? "127.0.0.1" : host;
  so.port = port;
  auto token = read_token(options.token_file);
  if (!token.ok()) return token.status();
  so.token = *token;
  so.description = options.description;
  so.sources = options.sources.names();
  so.target_fps = options.target_fps;
  so.hooks.build = options.hooks.build;
  so.hooks.propose = options.hooks.propose;
  so.hooks.rollback = options.hooks.rollback;
  so.hooks.masks = options.hooks.masks;
  so.log = [](std::string_view line) { spdlog::info("stream: {}", line); };
  auto server = runtime::StreamServer::create(so, real_clock());
  if (!server.ok()) return Status(server.status().code(), "--listen " + options.listen + ": " + server.status().message());
  spdlog::info("stream: listening on {}{}", server.value()->address(), so.token.empty() ? "" : " (token required)");
  return std::unique_ptr<Listener>(new Listener(std::move(server.value())));
}

}  // namespace hetsched::tools
