// Where a `hetsched run` sends its records (tools/run_outputs.hpp).
#include "tools/run_outputs.hpp"

#include <cstdio>

#include "tools/commands.hpp"
#include "tools/replay_policy.hpp"

namespace hetsched::tools::run {

int open_outputs(Args& a, int units, int zones, const std::string& description, double target_fps,
                 std::function<Result<std::unique_ptr<policies::Controller>>(const policies::PolicyFile&)> build, Outputs* out,
                 std::function<Result<runtime::MaskFn>(const policies::PolicyFile&)> masks) {
  auto codec = policies::FrameCodec::create(units, zones, &out->sources);
  if (!codec.ok()) return fail(kExitRuntime, "run: " + codec.status().message());
  out->codec = std::make_unique<policies::FrameCodec>(std::move(codec.value()));
  (void)out->sources.add("controller");
  (void)out->sources.add("scenario");
  if (a.has("record")) {
    auto r = open_recorder_deferred(a.get("record"));
    if (!r.ok()) return fail(kExitRuntime, "run: --record: " + r.status().message());
    out->rec = std::move(r.value());
    out->fan.add(out->rec.get());
  }
  if (a.has("listen")) {
    ListenOptions lo;
    lo.listen = a.get("listen");
    lo.token_file = a.get("token-file");
    lo.sources = out->sources;
    lo.description = description;
    lo.target_fps = target_fps;
    lo.hooks.build = std::move(build);
    lo.hooks.masks = std::move(masks);
    Outputs* o = out;
    lo.hooks.propose = [o](std::unique_ptr<policies::Controller> c) -> Status {
      runtime::Controller* ctl = o->controller ? o->controller() : nullptr;
      if (!ctl) return Error(StatusCode::kUnavailable, "run: no adaptive controller to hot-swap");
      ctl->propose_policy(std::move(c));
      return Status::Ok();
    };
    lo.hooks.rollback = [o]() -> Status {
      runtime::Controller* ctl = o->controller ? o->controller() : nullptr;
      if (!ctl || !ctl->rollback()) return Error(StatusCode::kUnavailable, "run: no previous policy to roll back to");
      return Status::Ok();
    };
    auto l = start_listen(lo);
    if (!l.ok()) return fail(l.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRuntime, "run: --listen: " + l.status().message());
    out->listener = std::move(l.value());
    out->fan.add(&out->listener->sink());
    std::fprintf(stderr, "run: listening on %s\n", out->listener->address().c_str());
  }
  return kExitOk;
}

int start_record(Outputs* out, RunIdentity id, const runtime::Controller* controller) {
  if (!out->rec) return kExitOk;
  id.sources = out->sources;
  if (controller) describe_controller(&id, controller->options(), controller->platform(), controller->initial(), controller->safe());
  if (Status st = out->rec->start(id); !st.ok()) return fail(kExitRuntime, "run: --record: " + st.message());
  return kExitOk;
}

int close_outputs(Outputs* o) {
  o->listener.reset();
  if (o->rec) {
    if (Status st = o->rec->close(); !st.ok()) return fail(kExitRuntime, "run: --record: " + st.message());
  }
  return kExitOk;
}

}  // namespace hetsched::tools::run
