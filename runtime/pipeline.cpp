#include "runtime/pipeline.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/executor.hpp"

namespace hetsched::runtime {

struct Pipeline::Slot {
  AlignedFloats buf[2];
  int cur = 0;           // buffer holding the boundary the next block reads
  int stage = 0;         // next stage to run
  PipelinePlan plan;     // the plan this frame was admitted under (copied: never re-routed)
  std::uint64_t seq = 0, tag = 0;
  std::uint32_t epoch = 0;
  bool ok = true;
  std::int64_t t_submit_ns = 0;
};

Status pin_thread(std::thread::native_handle_type thread, const std::vector<int>& cpu_ids) {
  if (cpu_ids.empty()) return Status::Ok();
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string list;
  for (int c : cpu_ids) {
    if (c < 0 || c >= CPU_SETSIZE) return Error(StatusCode::kOutOfRange, "pin: core " + std::to_string(c) + " outside [0, CPU_SETSIZE)");
    CPU_SET(c, &set);
    list += (list.empty() ? "" : ",") + std::to_string(c);
  }
  const int rc = pthread_setaffinity_np(thread, sizeof(set), &set);
  if (rc != 0) return Error(StatusCode::kPermissionDenied, "pin: pthread_setaffinity_np(cores " + list + "): " + std::strerror(rc));
  return Status::Ok();
}

Pipeline::Pipeline(std::vector<PipelineUnit> units, const PipelineOptions& options, const Clock& clock, ResultFn on_result)
    : units_(std::move(units)), options_(options), clock_(clock), on_result_(std::move(on_result)) {}

Result<std::unique_ptr<Pipeline>> Pipeline::create(std::vector<PipelineUnit> units, const PipelinePlan& plan,
                                                   const PipelineOptions& options, const Clock& clock, ResultFn on_result) {
  if (units.empty() || units.size() > static_cast<size_t>(kMaxPipelineUnits))
    return Error(StatusCode::kInvalidArgument, "pipeline: " + std::to_string(units.size()) + " units, expected 1.." +
                                                   std::to_string(kMaxPipelineUnits));
  if (options.slots < 1 || options.slots > 64)
    return Error(StatusCode::kInvalidArgument, "pipeline: options.slots = " + std::to_string(options.slots) + " outside [1, 64]");
  for (const auto& u : units) {
    if (u.executor == nullptr) return Error(StatusCode::kInvalidArgument, "pipeline: unit '" + u.name + "' has no executor");
    const BoundaryLayout& a = units[0].executor->layout();
    const BoundaryLayout& b = u.executor->layout();
    bool same = a.num_blocks() == b.num_blocks();
    for (int k = 0; same && k <= a.num_blocks(); ++k) same = a.boundary_floats(k) == b.boundary_floats(k);
    if (!same) return Error(StatusCode::kInvalidArgument, "pipeline: unit '" + u.name + "' executor layout (model '" + b.model +
                                                              "') differs from unit '" + units[0].name + "' ('" + a.model + "')");
  }
  const BoundaryLayout& layout = units[0].executor->layout();
  if (layout.num_blocks() < 1 || layout.num_blocks() > kMaxPipelineBlocks)
    return Error(StatusCode::kOutOfRange, "pipeline: model '" + layout.model + "' has " + std::to_string(layout.num_blocks()) +
                                              " blocks, supported 1.." + std::to_string(kMaxPipelineBlocks));
  HETSCHED_RETURN_IF_ERROR(validate_plan(plan, layout.num_blocks(), static_cast<int>(units.size())));

  std::unique_ptr<Pipeline> p(new Pipeline(std::move(units), options, clock, std::move(on_result)));
  p->layout_ = &layout;
  p->input_floats_ = layout.boundary_floats(0);
  for (int k = 0; k <= layout.num_blocks(); ++k) {
    p->slot_floats_ = std::max(p->slot_floats_, layout.boundary_floats(k));
    p->max_tensors_ = std::max(p->max_tensors_, static_cast<int>(layout.boundary[static_cast<size_t>(k)].size()));
  }
  p->active_ = plan;
  for (int s = 0; s < options.slots; ++s) {
    auto slot = std::make_unique<Slot>();
    slot->buf[0] = AlignedFloats(p->slot_floats_);
    slot->buf[1] = AlignedFloats(p->slot_floats_);
    p->slots_.push_back(std::move(slot));
    p->free_.push_back(options.slots - 1 - s);
  }
  for (size_t u = 0; u < p->units_.size(); ++u) {
    p->queues_.push_back(std::make_unique<SlotQueue>(options.slots));
    p->stats_.push_back(std::make_unique<UnitStats>());
  }
  for (size_t u = 0; u < p->units_.size(); ++u) {
    p->threads_.emplace_back([raw = p.get(), u] { raw->worker(static_cast<int>(u)); });
    if (options.pin_threads) {
      Status st = pin_thread(p->threads_.back().native_handle(), p->units_[u].cpu_ids);
      if (!st.ok()) {
        p->stop();
        return Error(st.code(), "pipeline: unit '" + p->units_[u].name + "': " + st.message());
      }
    }
  }
  return p;
}

Pipeline::~Pipeline() { stop(); }

std::vector<std::string> Pipeline::unit_names() const {
  std::vector<std::string> names;
  for (const auto& u : units_) names.push_back(u.name);
  return names;
}

PipelinePlan Pipeline::plan() const {
  std::lock_guard<std::mutex> lock(m_);
  return pending_ ? *pending_ : active_;
}

Status Pipeline::set_plan(const PipelinePlan& plan) {
  HETSCHED_RETURN_IF_ERROR(validate_plan(plan, num_blocks(), num_units()));
  std::lock_guard<std::mutex> lock(m_);
  if (plan == active_) pending_.reset();
  else pending_ = plan;
  return Status::Ok();
}

Status Pipeline::submit(const float* input, std::int64_t n_floats, std::uint64_t tag) noexcept {
  if (input == nullptr || n_floats != input_floats_)
    return Error(StatusCode::kInvalidArgument, "submit: input of " + std::to_string(n_floats) + " floats" +
                                                   (input ? "" : " (null)") + ", the model takes " + std::to_string(input_floats_));
  std::unique_lock<std::mutex> lock(m_);
  if (pending_ && !stopped_) {
    // Epoch barrier: let the old epoch leave the pipeline, then admit frames under the new plan.
    const std::int64_t t0 = clock_.now_ns();
    cv_.wait(lock, [&] { return in_flight_ == 0 || stopped_; });
    active_ = *pending_;
    pending_.reset();
    epoch_.fetch_add(1, std::memory_order_relaxed);
    switch_wait_ns_.fetch_add(clock_.now_ns() - t0, std::memory_order_relaxed);
  }
  cv_.wait(lock, [&] { return !free_.empty() || stopped_; });
  if (stopped_) return Error(StatusCode::kUnavailable, "submit: the pipeline is stopped");
  const int idx = free_.back();
  free_.pop_back();
  ++in_flight_;
  Slot& s = *slots_[static_cast<size_t>(idx)];
  s.seq = next_seq_++;
  s.plan = active_;
  s.epoch = epoch_.load(std::memory_order_relaxed);
  lock.unlock();
  std::memcpy(s.buf[0].data(), input, static_cast<size_t>(n_floats) * sizeof(float));
  s.cur = 0;
  s.stage = 0;
  s.ok = true;
  s.tag = tag;
  s.t_submit_ns = clock_.now_ns();
  queues_[static_cast<size_t>(s.plan.stages[0].unit)]->push(idx);
  return Status::Ok();
}

void Pipeline::worker(int u) noexcept {
  // Views are per worker (allocated before the hot path); the tensors live in the slots.
  std::vector<TensorView> vin(static_cast<size_t>(max_tensors_)), vout(static_cast<size_t>(max_tensors_));
  BlockExecutor* exec = units_[static_cast<size_t>(u)].executor;
  UnitStats& stats = *stats_[static_cast<size_t>(u)];
  int idx = 0;
  while (queues_[static_cast<size_t>(u)]->pop(&idx)) {
    Slot& s = *slots_[static_cast<size_t>(idx)];
    const Stage st = s.plan.stages[static_cast<size_t>(s.stage)];
    // A failed frame still walks its remaining stages (without computing) so that it is
    // delivered in order: skipping ahead to the sink could overtake earlier frames.
    const std::int64_t t_stage = clock_.now_ns();
    for (int b = st.first_block; s.ok && b < st.end_block; ++b) {
      const auto& in_specs = layout_->boundary[static_cast<size_t>(b)];
      const auto& out_specs = layout_->boundary[static_cast<size_t>(b + 1)];
      boundary_views(*layout_, b, s.buf[s.cur].data(), vin.data());
      boundary_views(*layout_, b + 1, s.buf[1 - s.cur].data(), vout.data());
      const std::int64_t t0 = clock_.now_ns();
      const Status r = exec->run_block(b, vin.data(), static_cast<int>(in_specs.size()), vout.data(),
                                       static_cast<int>(out_specs.size()));
      const std::int64_t dt = clock_.now_ns() - t0;
      if (!r.ok()) {
        s.ok = false;
        break;
      }
      const size_t bi = static_cast<size_t>(b);
      auto& e = stats.block_ns[bi];
      const std::int64_t old = e.load(std::memory_order_relaxed);
      const bool fresh = old == 0 || stats.block_epoch[bi].load(std::memory_order_relaxed) != s.epoch;
      e.store(fresh ? dt : old + (dt - old) / 4, std::memory_order_relaxed);
      stats.block_last_ns[bi].store(dt, std::memory_order_relaxed);
      stats.block_epoch[bi].store(s.epoch, std::memory_order_relaxed);
      s.cur ^= 1;
    }
    stats.busy_ns.fetch_add(clock_.now_ns() - t_stage, std::memory_order_relaxed);
    stats.stages_run.fetch_add(1, std::memory_order_relaxed);
    if (++s.stage == s.plan.num_stages) finish(idx);
    else queues_[static_cast<size_t>(s.plan.stages[static_cast<size_t>(s.stage)].unit)]->push(idx);
  }
}

void Pipeline::finish(int idx) noexcept {
  Slot& s = *slots_[static_cast<size_t>(idx)];
  const int B = layout_->num_blocks();
  const int n_out = static_cast<int>(layout_->boundary[static_cast<size_t>(B)].size());
  TensorView outs[8];
  const int shown = std::min(n_out, 8);  // YOLOv3 has three outputs; eight is ample
  if (n_out <= 8) boundary_views(*layout_, B, s.buf[s.cur].data(), outs);
  if (s.ok && options_.check_finite) {
    const float* d = s.buf[s.cur].data();
    const std::int64_t n = layout_->boundary_floats(B);
    for (std::int64_t i = 0; i < n; ++i)
      if (!std::isfinite(d[i])) {
        s.ok = false;
        break;
      }
  }
  if (on_result_) {
    PipelineResult r;
    r.seq = s.seq;
    r.tag = s.tag;
    r.epoch = s.epoch;
    r.ok = s.ok;
    r.t_submit_ns = s.t_submit_ns;
    r.t_done_ns = clock_.now_ns();
    r.outputs = n_out <= 8 ? outs : nullptr;
    r.n_outputs = n_out <= 8 ? shown : 0;
    on_result_(r);
  }
  if (!s.ok) failed_.fetch_add(1, std::memory_order_relaxed);
  done_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back(idx);
    --in_flight_;
  }
  cv_.notify_all();
}

void Pipeline::drain() noexcept {
  std::unique_lock<std::mutex> lock(m_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void Pipeline::stop() noexcept {
  drain();
  {
    std::lock_guard<std::mutex> lock(m_);
    stopped_ = true;
  }
  cv_.notify_all();
  for (auto& q : queues_) q->close();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace hetsched::runtime
