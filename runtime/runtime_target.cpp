// The host pipeline as the controller's target (Runtime::Impl, runtime/runtime_impl.hpp): results
// in, observation (block costs, the agent's frame, temperatures/power, guard inputs) out,
// configurations applied as pipeline plans, and the startup calibration.
#include <algorithm>
#include <climits>
#include <cstring>

#include "runtime/host_config.hpp"
#include "runtime/runtime_impl.hpp"

namespace hetsched {

void Runtime::Impl::on_result(const runtime::PipelineResult& r) noexcept {
  const std::int64_t lat = r.t_done_ns - r.t_submit_ns;
  if (opt.deadline_ns > 0 && lat > opt.deadline_ns) misses.fetch_add(1, std::memory_order_relaxed);
  lat_sum_ns.fetch_add(lat, std::memory_order_relaxed);
  lat_n.fetch_add(1, std::memory_order_relaxed);
  std::int64_t m = lat_max_ns.load(std::memory_order_relaxed);
  while (lat > m && !lat_max_ns.compare_exchange_weak(m, lat, std::memory_order_relaxed)) {
  }
  if (opt.on_result) {
    RuntimeResult out{r.seq, r.tag, r.ok, lat, r.epoch, r.outputs, r.n_outputs};
    opt.on_result(out);
    return;
  }
  std::unique_lock<std::mutex> lock(qm);
  qcv.wait(lock, [&] { return size < ring.size() || q_closing; });
  if (size == ring.size()) return;  // closing and nobody polls: the result is discarded
  RuntimeOutput& o = ring[(head + size) % ring.size()];
  o.seq = r.seq, o.tag = r.tag, o.ok = r.ok, o.latency_ns = lat;
  float* dst = o.output.data();  // sized at create: no allocation here
  for (int i = 0; i < r.n_outputs; ++i) {
    std::memcpy(dst, r.outputs[i].data, static_cast<size_t>(r.outputs[i].elements()) * sizeof(float));
    dst += r.outputs[i].elements();
  }
  ++size;
  qcv.notify_all();
}

Status Runtime::Impl::observe(runtime::ControlSample* o) noexcept {
  o->t_ns = clock->now_ns();
  const int U = pipe->num_units(), B = pipe->num_blocks();
  const runtime::PipelinePlan plan = pipe->plan();
  o->current = runtime::config_from_plan(plan, desc);
  o->costs.num_units = U;
  o->costs.num_blocks = B;
  // Speed of a unit = measured / calibrated latency of the blocks it runs now; blocks it does
  // not run are predicted at calibrated x speed (one contention factor per unit: a hog slows
  // every block of the core alike). A unit with no blocks keeps its last factor.
  for (int u = 0; u < U; ++u) {
    double meas = 0, cal = 0;
    const auto& st = pipe->stats(u);
    for (int s = 0; s < plan.num_stages; ++s) {
      const auto& sg = plan.stages[static_cast<size_t>(s)];
      if (sg.unit != u) continue;
      for (int b = sg.first_block; b < sg.end_block; ++b) {
        meas += static_cast<double>(st.block_ns[static_cast<size_t>(b)].load(std::memory_order_relaxed)) / 1000.0;
        cal += calib_us[static_cast<size_t>(u * kMaxPipelineBlocks + b)];
      }
    }
    if (cal > 0 && meas > 0) speed[static_cast<size_t>(u)] = meas / cal;
    for (int b = 0; b < B; ++b) {
      const size_t i = static_cast<size_t>(u * kMaxPipelineBlocks + b);
      o->costs.cost_us[i] = static_cast<float>(calib_us[i] * speed[static_cast<size_t>(u)]);
    }
  }
  o->guard.frames = pipe->frames_done();
  o->guard.failed_frames = pipe->frames_failed();
  o->guard.deadline_misses = misses.load(std::memory_order_relaxed);
  fill_frame(o, plan);
  return Status::Ok();
}

void Runtime::Impl::fill_frame(runtime::ControlSample* o, const runtime::PipelinePlan& plan) noexcept {
  policies::TelemetryFrame& f = o->frame;
  const std::int64_t dt = o->t_ns - obs_prev_t;
  const std::uint64_t done = o->guard.frames;
  f.fps_ok = dt > 0;
  f.fps = dt > 0 ? static_cast<double>(done - obs_prev_done) * 1e9 / static_cast<double>(dt) : 0;
  f.frames = static_cast<int>(std::min<std::uint64_t>(done - obs_prev_done, 1u << 30));
  f.dropped = 0;  // the pipeline never drops (epoch barrier)
  const std::uint64_t n = lat_n.exchange(0, std::memory_order_relaxed);
  const std::int64_t sum = lat_sum_ns.exchange(0, std::memory_order_relaxed);
  const std::int64_t mx = lat_max_ns.exchange(0, std::memory_order_relaxed);
  f.latency_ok = n > 0;
  f.latency_us = n > 0 ? static_cast<double>(sum) / static_cast<double>(n) / 1000.0 : 0;
  f.max_latency_us = static_cast<double>(mx) / 1000.0;
  const std::uint32_t ep = pipe->epoch();
  f.reconfiguring = ep != obs_prev_epoch;  // a re-split took effect in this period
  obs_prev_epoch = ep;
  f.num_stages = std::min(plan.num_stages, policies::kObsMaxStages);
  for (int s = 0; s < f.num_stages; ++s) {
    const auto& sg = plan.stages[static_cast<size_t>(s)];
    double us = 0;
    for (int b = sg.first_block; b < sg.end_block; ++b)
      us += static_cast<double>(pipe->stats(sg.unit).block_ns[static_cast<size_t>(b)].load(std::memory_order_relaxed)) / 1000.0;
    f.stage_latency_us[static_cast<size_t>(s)] = us;
    f.queue_depth[static_cast<size_t>(s)] = 0;
  }
  for (int u = 0; u < pipe->num_units() && u < policies::kMaxUnits; ++u) {
    const std::int64_t busy = pipe->stats(u).busy_ns.load(std::memory_order_relaxed);
    f.util[static_cast<size_t>(u)] = dt > 0 ? std::clamp(static_cast<double>(busy - obs_prev_busy[static_cast<size_t>(u)]) / static_cast<double>(dt), 0.0, 1.0) : 0;
    f.unit_ok[static_cast<size_t>(u)] = true;
    f.freq_khz[static_cast<size_t>(u)] = 0;  // no cpufreq here: unknown
    obs_prev_busy[static_cast<size_t>(u)] = busy;
  }
  f.max_latency_us_target = opt.deadline_ns > 0 ? static_cast<double>(opt.deadline_ns) / 1000.0 : 0;
  f.target_fps = opt.target_fps;
  obs_prev_t = o->t_ns;
  obs_prev_done = done;
  o->guard.sensors_ok = true;
  o->guard.has_temp = false;
  f.power_ok = false;
  if (!sensors) return;
  sensors->read(&readings);
  int hottest = INT32_MIN;
  for (int z = 0; z < readings.num_zones; ++z) {
    const runtime::Reading& r = readings.temp_mc[static_cast<size_t>(z)];
    const bool ok = r.ok();
    // A zone that was readable and is no longer is a sensor loss (guard), not "unavailable".
    if (!ok && zone_seen[static_cast<size_t>(z)]) o->guard.sensors_ok = false;
    if (ok) {
      zone_seen[static_cast<size_t>(z)] = true;
      hottest = std::max<int>(hottest, static_cast<int>(r.value));
    }
    if (z < policies::kObsMaxZones) {
      f.temp_ok[static_cast<size_t>(z)] = ok;
      f.temp_mc[static_cast<size_t>(z)] = ok ? static_cast<std::int32_t>(r.value) : 0;
    }
  }
  if (hottest != INT32_MIN) {
    o->guard.has_temp = true;
    o->guard.max_temp_mc = hottest;
    last_temp_mc.store(hottest, std::memory_order_relaxed);
    has_temp.store(true, std::memory_order_relaxed);
  }
  double uw = 0;
  bool any = false;
  for (int k = 0; k < readings.num_power; ++k)
    if (readings.power_uw[static_cast<size_t>(k)].ok()) uw += static_cast<double>(readings.power_uw[static_cast<size_t>(k)].value), any = true;
  if (any) {
    f.power_ok = true;
    f.power_mw = uw / 1000.0;
    last_power_mw.store(f.power_mw, std::memory_order_relaxed);
    has_power.store(true, std::memory_order_relaxed);
  }
}

Status Runtime::Impl::apply(const policies::Config& c) noexcept {
  runtime::PipelinePlan plan;
  if (!runtime::plan_from_config(c, desc, pipe->num_blocks(), &plan))
    return Error(StatusCode::kInvalidArgument, "host: configuration does not map to the pipeline units");
  return pipe->set_plan(plan);
}

Status Runtime::Impl::calibrate(int n) {
  std::vector<float> input(static_cast<size_t>(pipe->input_floats()), 0.5f);
  const int U = pipe->num_units(), B = pipe->num_blocks();
  for (int u = 0; u < U; ++u) {
    runtime::PipelinePlan solo;
    solo.num_stages = 1;
    solo.stages[0] = {u, 0, B};
    HETSCHED_RETURN_IF_ERROR(pipe->set_plan(solo));
    std::vector<std::vector<double>> samples(static_cast<size_t>(B));
    for (int f = 0; f <= n; ++f) {
      HETSCHED_RETURN_IF_ERROR(pipe->submit(input.data(), pipe->input_floats(), 0));
      pipe->drain();
      if (f == 0) continue;  // warm-up: page faults, cold caches
      for (int b = 0; b < B; ++b)
        samples[static_cast<size_t>(b)].push_back(
            static_cast<double>(pipe->stats(u).block_last_ns[static_cast<size_t>(b)].load()) / 1000.0);
    }
    for (int b = 0; b < B; ++b) {
      auto& v = samples[static_cast<size_t>(b)];
      std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
      calib_us[static_cast<size_t>(u * kMaxPipelineBlocks + b)] = std::max(1.0, v[v.size() / 2]);
    }
    speed[static_cast<size_t>(u)] = 1.0;
  }
  return Status::Ok();
}
}  // namespace hetsched
