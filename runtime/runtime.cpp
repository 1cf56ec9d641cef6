// The public Runtime (runtime/include/hetsched/runtime.hpp): create (pipeline, calibration, host
// platform, policy, controller) and the API calls. The host target itself: runtime_target.cpp.
#include "hetsched/runtime.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/agent_policy.hpp"
#include "runtime/balance_controller.hpp"
#include "runtime/executor.hpp"
#include "runtime/host_config.hpp"
#include "runtime/host_units.hpp"
#include "runtime/runtime_impl.hpp"

namespace hetsched {

Result<RuntimePlatform> host_platform(const std::string& sysfs_root) {
  auto units = runtime::host_units(sysfs_root);
  if (!units.ok()) return units.status();
  RuntimePlatform p;
  p.name = "host";
  for (auto& u : *units) p.units.push_back({u.name, u.cpu_ids, nullptr});
  return p;
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() { (void)stop(); }

Result<std::unique_ptr<Runtime>> Runtime::create(const RuntimePlatform& platform, const std::string& model,
                                                 const std::string& data_dir, const RuntimeOptions& options) {
  try {
    if (options.calibration_frames < 1 || options.calibration_frames > 100)
      return Error(StatusCode::kInvalidArgument, "RuntimeOptions.calibration_frames = " +
                                                     std::to_string(options.calibration_frames) + " outside [1, 100]");
    if (!options.on_result && (options.result_queue < 1 || options.result_queue > 4096))
      return Error(StatusCode::kInvalidArgument, "RuntimeOptions.result_queue = " + std::to_string(options.result_queue) +
                                                     " outside [1, 4096]");
    if (options.deadline_ns < 0) return Error(StatusCode::kInvalidArgument, "RuntimeOptions.deadline_ns < 0");
    if (!(options.target_fps >= 0) || !std::isfinite(options.target_fps))
      return Error(StatusCode::kInvalidArgument, "RuntimeOptions.target_fps must be finite and >= 0 (fps)");
    if (platform.units.empty() || platform.units.size() > static_cast<size_t>(kMaxPipelineUnits))
      return Error(StatusCode::kInvalidArgument, "platform '" + platform.name + "': " + std::to_string(platform.units.size()) +
                                                     " units, expected 1.." + std::to_string(kMaxPipelineUnits));
    auto impl = std::make_unique<Impl>();
    impl->opt = options;
    impl->clock = options.clock ? options.clock : &impl->real_clock;

    std::shared_ptr<const runtime::EigenModel> eigen;
    std::vector<runtime::PipelineUnit> units;
    for (const auto& u : platform.units) {
      std::shared_ptr<BlockExecutor> e = u.executor;
      if (!e) {
        if (!eigen) {
          auto desc = policies::load_model_by_name(data_dir, model);
          if (!desc.ok()) return desc.status();
          auto m = runtime::EigenModel::create(*desc, {options.weights_path, options.weights_seed});
          if (!m.ok()) return m.status();
          eigen = *m;
        }
        auto x = runtime::EigenExecutor::create(eigen);
        if (!x.ok()) return x.status();
        e = std::shared_ptr<BlockExecutor>(std::move(x.value()));
      }
      impl->execs.push_back(e);
      units.push_back({u.name, u.cpu_ids, e.get()});
    }
    const int B = units[0].executor->layout().num_blocks();
    if (B < 1 || B > kMaxPipelineBlocks)
      return Error(StatusCode::kOutOfRange, "model '" + model + "': " + std::to_string(B) + " blocks, supported 1.." +
                                                std::to_string(kMaxPipelineBlocks));
    runtime::PipelinePlan solo0;
    solo0.num_stages = 1;
    solo0.stages[0] = {0, 0, B};
    Impl* raw = impl.get();
    auto pipe = runtime::Pipeline::create(units, solo0, {.slots = options.slots, .pin_threads = options.pin_threads},
                                          *impl->clock, [raw](const runtime::PipelineResult& r) { raw->on_result(r); });
    if (!pipe.ok()) return pipe.status();
    impl->pipe = std::move(pipe.value());
    if (!options.on_result) {
      const std::int64_t out_floats = impl->pipe->unit(0).executor->layout().boundary_floats(B);
      impl->ring.resize(static_cast<size_t>(options.result_queue));
      for (auto& o : impl->ring) o.output.resize(static_cast<size_t>(out_floats));
    }
    // Calibration results are not user frames: route them nowhere.
    auto user_cb = std::move(impl->opt.on_result);
    impl->opt.on_result = [](const RuntimeResult&) {};
    HETSCHED_RETURN_IF_ERROR(impl->calibrate(options.calibration_frames));
    impl->opt.on_result = std::move(user_cb);

    // Initial split: the user's, else balanced on the calibration (also the guard's safe split).
    auto bal = std::make_unique<runtime::Balancer>();
    runtime::PipelinePlan safe =
        bal->balance(impl->calib_us.data(), impl->pipe->num_units(), B, 50, false).plan;
    runtime::PipelinePlan initial = safe;
    if (!options.split.empty()) {
      auto p = runtime::parse_plan(options.split, impl->pipe->unit_names(), B);
      if (!p.ok()) return Error(p.status().code(), "RuntimeOptions.split: " + p.status().message());
      initial = *p;
    }
    HETSCHED_RETURN_IF_ERROR(impl->pipe->set_plan(initial));
    // Host units as a platform (letters A, B, ... or the host profile's) and the model's block
    // count: the controller speaks policies::Config (runtime/host_config.hpp).
    std::vector<std::string> names = impl->pipe->unit_names();
    if (!options.platform_file.empty()) {
      auto d = policies::load_platform(options.platform_file);
      if (!d.ok()) return Error(d.status().code(), "RuntimeOptions.platform_file: " + d.status().message());
      if (Status st = runtime::check_host_desc(*d, names); !st.ok())
        return Error(st.code(), "RuntimeOptions.platform_file " + options.platform_file + ": " + st.message());
      impl->desc = std::move(d.value());
    } else {
      std::vector<std::vector<int>> cores;
      for (const auto& u : platform.units) cores.push_back(u.cpu_ids);
      impl->desc = runtime::default_host_desc(names, cores);
      impl->desc.name = platform.name;
    }
    auto md = policies::load_model_by_name(data_dir, model);
    if (md.ok()) {
      impl->mdesc = std::move(md.value());
    } else if (!options.policy_file.empty()) {
      return Error(md.status().code(), "RuntimeOptions.policy_file needs the model description: " + md.status().message());
    } else {  // user executors for a model we do not describe: only the block count matters here
      impl->mdesc.name = model;
      impl->mdesc.blocks.resize(static_cast<size_t>(B));
    }
    // Temperatures and power: sensing only, never actuation. A machine without thermal zones or
    // hwmon (this VM) simply has none: unavailable, not an error.
    if (!options.sysfs_root.empty()) {
      runtime::LinuxOptions lo;
      lo.sysfs_root = options.sysfs_root;
      lo.clock = impl->clock;
      lo.enable_actuation = false;
      lo.restore_on_destroy = false;
      auto lp = runtime::LinuxPlatform::create(lo);
      if (lp.ok() && (!lp.value()->topology().zones.empty() || !lp.value()->topology().power.empty()))
        impl->sensors = std::move(lp.value());
    }
    if (options.mode == RuntimeMode::kAdaptive) {
      runtime::ControllerOptions co;
      co.period_ns = options.decision_period_ns;
      co.rate_limit_ns = options.rate_limit_ns;
      co.guard.miss_burst = options.miss_burst;
      co.guard.trip_temp_mc = options.trip_temp_mc;
      co.sink = options.sink;
      co.frame_codec = options.frame_codec;
      std::unique_ptr<policies::Controller> policy;
      if (options.policy_file.empty()) {
        policy = std::make_unique<runtime::BalanceController>(impl->desc, runtime::BalanceOptions{.min_gain = options.min_gain});
        impl->policy_name = "balance";
      } else if (!options.online_learner) {
        auto a = runtime::load_agent_policy(options.policy_file, impl->desc, impl->mdesc, data_dir);
        if (!a.ok()) return Error(a.status().code(), "RuntimeOptions.policy_file: " + a.status().message());
        policy = std::move(a->controller);
        impl->policy_name = a->name;
      } else {
        auto f = policies::read_policy_file(options.policy_file);
        if (!f.ok()) return Error(f.status().code(), "RuntimeOptions.policy_file: " + f.status().message());
        auto ol = options.online_learner(*f, options.policy_file, impl->desc, impl->mdesc, data_dir);
        if (!ol.ok()) return Error(ol.status().code(), "RuntimeOptions.policy_file (online learning): " + ol.status().message());
        impl->online = std::move(ol.value());
        policy = impl->online->take_controller();
        impl->policy_name = std::string(policy->name());
      }
      impl->obs_prev_t = impl->clock->now_ns();
      impl->obs_prev_done = impl->pipe->frames_done();
      impl->obs_prev_epoch = impl->pipe->epoch();
      auto c = runtime::Controller::create(co, *impl->clock, *impl, std::move(policy), runtime::config_from_plan(safe, impl->desc));
      if (!c.ok()) return c.status();
      impl->ctl = std::move(c.value());
      if (impl->online) {
        runtime::Controller* ctl = impl->ctl.get();
        impl->online->start([ctl](std::unique_ptr<policies::Controller> c) { ctl->propose_policy(std::move(c)); });
      }
      if (options.controller_thread) impl->ctl_thread = std::thread([raw] { raw->ctl->run(raw->ctl_stop); });
    }
    impl->prev_t = impl->clock->now_ns();
    impl->prev_done = impl->pipe->frames_done();
    for (int u = 0; u < impl->pipe->num_units(); ++u)
      impl->prev_busy[static_cast<size_t>(u)] = impl->pipe->stats(u).busy_ns.load();
    return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
  } catch (const std::exception& e) {  // allocation failure etc.: never across the API
    return Error(StatusCode::kInternal, std::string("Runtime::create: ") + e.what());
  }
}

std::int64_t Runtime::input_floats() const noexcept { return impl_->pipe->input_floats(); }
std::int64_t Runtime::output_floats() const noexcept {
  const auto& l = impl_->pipe->unit(0).executor->layout();
  return l.boundary_floats(l.num_blocks());
}
std::vector<std::string> Runtime::unit_names() const { return impl_->pipe->unit_names(); }

Status Runtime::submit(const float* input, std::int64_t n_floats, std::uint64_t tag) noexcept {
  Status st = impl_->pipe->submit(input, n_floats, tag);
  if (st.ok()) impl_->submitted.fetch_add(1, std::memory_order_relaxed);
  return st;
}

bool Runtime::poll(RuntimeOutput* out, std::int64_t timeout_ns) noexcept {
  Impl& m = *impl_;
  if (m.ring.empty() || out == nullptr) return false;
  std::unique_lock<std::mutex> lock(m.qm);
  if (m.size == 0 && timeout_ns > 0) m.qcv.wait_for(lock, std::chrono::nanoseconds(timeout_ns), [&] { return m.size > 0; });
  if (m.size == 0) return false;
  RuntimeOutput& o = m.ring[m.head];
  out->seq = o.seq, out->tag = o.tag, out->ok = o.ok, out->latency_ns = o.latency_ns;
  out->output.assign(o.output.begin(), o.output.end());  // reuses the caller's capacity
  m.head = (m.head + 1) % m.ring.size();
  --m.size;
  m.qcv.notify_all();
  return true;
}

Status Runtime::set_split(const std::string& split) {
  auto p = runtime::parse_plan(split, impl_->pipe->unit_names(), impl_->pipe->num_blocks());
  if (!p.ok()) return p.status();
  return impl_->pipe->set_plan(*p);
}

bool Runtime::control_step() noexcept { return impl_->ctl ? impl_->ctl->step() : false; }
runtime::Controller* Runtime::controller() noexcept { return impl_->ctl.get(); }
void Runtime::notify_limits_changed() noexcept {
  if (impl_->ctl) impl_->ctl->notify_limits_changed();
}

RuntimeTelemetry Runtime::telemetry() {
  Impl& m = *impl_;
  RuntimeTelemetry t;
  t.t_ns = m.clock->now_ns();
  t.frames_submitted = m.submitted.load();
  t.frames_done = m.pipe->frames_done();
  t.frames_failed = m.pipe->frames_failed();
  t.deadline_misses = m.misses.load();
  const double dt_s = static_cast<double>(t.t_ns - m.prev_t) / 1e9;
  t.fps = dt_s > 0 ? static_cast<double>(t.frames_done - m.prev_done) / dt_s : 0;
  t.reconfigs = m.pipe->epoch();
  const runtime::PipelinePlan plan = m.pipe->plan();
  const auto names = m.pipe->unit_names();
  t.split = runtime::format_plan(plan, names);
  std::vector<double> cost(static_cast<size_t>(kMaxPipelineUnits * kMaxPipelineBlocks), 0.0);
  for (int u = 0; u < m.pipe->num_units(); ++u)
    for (int b = 0; b < m.pipe->num_blocks(); ++b) {
      const size_t i = static_cast<size_t>(u * kMaxPipelineBlocks + b);
      cost[i] = m.calib_us[i] * m.speed[static_cast<size_t>(u)];
    }
  const double b_us = runtime::Balancer::bottleneck_us(plan, cost.data(), 0);
  t.predicted_fps = b_us > 0 ? 1e6 / b_us : 0;
  t.switch_wait_ns = m.pipe->switch_wait_ns();
  if (m.ctl) {
    const auto s = m.ctl->stats();
    t.decisions = s.decisions;
    t.guard_overrides = s.guard_overrides;
    t.last_guard = runtime::to_string(s.last_guard);
    t.policy = m.policy_name;  // the policy at start; policy_swaps counts the ones swapped in since
    t.policy_swaps = s.policy_swaps;
    if (m.online) t.online_updates = m.online->updates();
  } else {
    t.last_guard = "none";
  }
  t.has_temp = m.has_temp.load(std::memory_order_relaxed);
  t.max_temp_c = t.has_temp ? m.last_temp_mc.load(std::memory_order_relaxed) / 1000.0 : 0;
  t.has_power = m.has_power.load(std::memory_order_relaxed);
  t.power_mw = t.has_power ? m.last_power_mw.load(std::memory_order_relaxed) : 0;
  for (int u = 0; u < m.pipe->num_units(); ++u) {
    RuntimeUnitTelemetry ut;
    ut.name = names[static_cast<size_t>(u)];
    for (int s = 0; s < plan.num_stages; ++s)
      if (plan.stages[static_cast<size_t>(s)].unit == u)
        ut.blocks += plan.stages[static_cast<size_t>(s)].end_block - plan.stages[static_cast<size_t>(s)].first_block;
    const std::int64_t busy = m.pipe->stats(u).busy_ns.load();
    ut.busy_pct = t.t_ns > m.prev_t ? 100.0 * static_cast<double>(busy - m.prev_busy[static_cast<size_t>(u)]) /
                                          static_cast<double>(t.t_ns - m.prev_t)
                                    : 0;
    ut.speed_factor = m.speed[static_cast<size_t>(u)];
    m.prev_busy[static_cast<size_t>(u)] = busy;
    t.units.push_back(ut);
  }
  m.prev_t = t.t_ns;
  m.prev_done = t.frames_done;
  return t;
}

Status Runtime::stop() noexcept {
  Impl& m = *impl_;
  if (m.stopped) return Status::Ok();
  m.stopped = true;
  m.ctl_stop.store(true);
  if (m.ctl_thread.joinable()) m.ctl_thread.join();
  if (m.online) m.online->stop();
  {
    std::lock_guard<std::mutex> lock(m.qm);
    m.q_closing = true;
  }
  m.qcv.notify_all();
  m.pipe->stop();
  return Status::Ok();
}

}  // namespace hetsched
