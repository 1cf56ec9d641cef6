// `hetsched run --listen ADDR:PORT [--token-file F]`: the glue between a run and the streaming
// server (runtime/stream_server.hpp, protocol in docs/streaming.md).
//
// The run calls start_listen() once before its loop, adds listener->sink() to its FanoutSink
// and keeps the Listener alive until the loop has stopped (destroying it stops the io thread
// and closes every connection). Policy pushes from `hetsched train --from` arrive on the
// server's io thread; the server verifies them (checksum and structure, schema, sanity window:
// see StreamServerOptions) and only then calls the hooks below, in this order:
//   build(file)       turn the verified policy file into a controller (the run knows the action
//                     space and the encoder; for env's agents: the body of env::load_trained);
//                     an error rejects the push and is sent back to the client;
//   propose(ctl)      hand it to the running loop (runtime Controller::propose_policy, which
//                     keeps the previous controller for rollback); an error rejects the push.
//   rollback()        on a client's rollback request (Controller::rollback).
//   masks(file)       (before build, during verification) the pushed policy's action mask, so the
//                     sanity window runs it masked as the device will (stream_verify.hpp).
// Hooks left empty reject pushes / rollbacks with "not supported by this run".
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "policies/baselines.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "policies/policy_file.hpp"
#include "runtime/stream_verify.hpp"
#include "telemetry/record_sink.hpp"
#include "telemetry/sample.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {
class StreamServer;
}

namespace hetsched::tools {

struct ListenHooks {
  // Verified policy file -> controller for this run (called on the io thread).
  std::function<Result<std::unique_ptr<policies::Controller>>(const policies::PolicyFile&)> build;
  // Hot-swap into the running loop; the previous controller must be kept for rollback.
  std::function<Status(std::unique_ptr<policies::Controller>)> propose;
  // Return to the previous controller.
  std::function<Status()> rollback;
  // Verified policy file -> the action mask of its action space (ActionSpace::mask), used by the
  // sanity window to run the policy under the masks the device had; empty = unmasked check.
  std::function<Result<runtime::MaskFn>(const policies::PolicyFile&)> masks;
};

struct ListenOptions {
  std::string listen;            // "ADDR:PORT" as given to --listen (port 0 = any free port)
  std::string token_file;        // --token-file; empty = $HETSCHED_STREAM_TOKEN (required off loopback)
  telemetry::SourceTable sources;  // names of the source ids the run's records use (sent to clients)
  std::string description;       // shown by `hetsched watch`, e.g. "rockpi_n10 googlenet policy trained"
  double target_fps = 0;         // the run's FPS target (0 = none), shown against the sampled FPS
  ListenHooks hooks;             // policy push / rollback (see above)
};

// A running server. sink() is the RecordSink the run publishes to: on_sample() from one
// producer thread only (it feeds a single-producer ring), lock- and allocation-free.
class Listener {
 public:
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  telemetry::RecordSink& sink() noexcept;
  // "127.0.0.1:40123": the bound address (useful with port 0).
  std::string address() const;
  runtime::StreamServer& server() noexcept { return *server_; }

 private:
  friend Result<std::unique_ptr<Listener>> start_listen(const ListenOptions& options);
  explicit Listener(std::unique_ptr<runtime::StreamServer> server);
  std::unique_ptr<runtime::StreamServer> server_;
};

// ListenHooks::masks for a run of the trained agent: the pushed file's action space, rebuilt
// like the run's build hook does (policies::agent_from_policy_file on the run's platform and
// model), and its ActionSpace::mask. Errors (other board, bad candidates) reject the push.
std::function<Result<runtime::MaskFn>(const policies::PolicyFile&)> agent_masks(
    std::function<Result<policies::PlatformDesc>()> platform, std::function<Result<policies::ModelDesc>()> model, std::string data_dir);

// Parses ADDR:PORT, reads the token (file, else env var), binds and starts the io thread.
// Errors (kInvalidArgument: malformed address, non-loopback without a token, empty token file;
// kIoError: bind failed / unreadable token file) name the flag and the value.
Result<std::unique_ptr<Listener>> start_listen(const ListenOptions& options);

}  // namespace hetsched::tools
