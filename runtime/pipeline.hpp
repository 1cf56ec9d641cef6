// The pipeline: one worker thread per unit, pinned to the unit's cores, running consecutive
// block ranges (stages) of a model through any BlockExecutor, with frames handed between stages
// as indices into a fixed pool of boundary buffers (no tensor copies between stages).
//
// Frame slots. Each slot owns two buffers of max_k boundary_floats(k) floats. Block b reads
// boundary b from buffer `cur` and writes boundary b+1 into the other one, then `cur` flips, so
// a frame crosses every block and every stage without a copy. The slot also carries its own
// copy of the plan it was admitted under (fixed-size, no allocation), its sequence number and
// the plan epoch.
//
// Live re-split (epoch barrier). set_plan() only records the new plan. The source applies it at
// a frame boundary: the next submit() waits until every frame of the old epoch has left the
// pipeline, installs the plan (epoch + 1) and admits the frame. Frames are never re-routed in
// flight, so none is dropped or duplicated; within one epoch each stage is served by one thread
// in FIFO order and receives frames in the order the previous stage finished them, so by
// induction frames leave in submission order. Cost of a switch: one drain bubble (about one
// frame's end-to-end latency), measured in bench_pipeline.
//
// Deadlock freedom: at most `slots` frames exist, and every queue holds `slots` entries, so a
// stage never blocks on a full queue, even when a unit appears twice in a plan (A -> B -> A).
//
// Threads: submit() from one producer thread; the result callback runs on the worker that
// finished the frame (keep it short: that unit computes nothing meanwhile).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hetsched/executor.hpp"
#include "runtime/pipeline_plan.hpp"
#include "runtime/pipeline_queue.hpp"
#include "telemetry/clock.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

struct PipelineUnit {
  std::string name;              // "cpu0", "B", "gpu" ...
  std::vector<int> cpu_ids;      // cores the unit's worker is pinned to; empty = not pinned
  BlockExecutor* executor = nullptr;  // not owned; used only by this unit's worker thread
};

struct PipelineOptions {
  int slots = 4;                 // frames in flight (boundary-buffer pool size), 1..64
  bool pin_threads = true;       // pin each worker to its unit's cpu_ids (sched affinity)
  bool check_finite = true;      // scan model outputs for NaN/Inf (a frame with any is marked failed)
};

// What the result callback sees. Output views point into the frame's slot: valid only during
// the callback.
struct PipelineResult {
  std::uint64_t seq = 0;         // submission order, from 0
  std::uint64_t tag = 0;         // caller's tag from submit()
  std::uint32_t epoch = 0;       // plan epoch the frame ran under
  bool ok = true;                // false: a block failed or the output was not finite
  std::int64_t t_submit_ns = 0, t_done_ns = 0;  // injected clock
  const TensorView* outputs = nullptr;
  int n_outputs = 0;
};
using ResultFn = std::function<void(const PipelineResult&)>;

// Counters read by the controller (relaxed atomics; written by the workers).
struct UnitStats {
  std::atomic<std::int64_t> busy_ns{0};     // time spent computing blocks
  std::atomic<std::int64_t> stages_run{0};
  // Latest EWMA of each block's latency on this unit (ns; 0 = never measured). alpha = 1/4: a
  // change of speed shows after ~4 frames, and one outlier moves the estimate by 25 %.
  std::array<std::atomic<std::int64_t>, kMaxPipelineBlocks> block_ns{};
  std::array<std::atomic<std::int64_t>, kMaxPipelineBlocks> block_last_ns{};  // latest single sample
  // Epoch of the latest sample: the first sample of a block in a new epoch replaces the EWMA
  // instead of blending, so a block just moved onto a slowed unit is not averaged with its
  // stale estimate from before the move.
  std::array<std::atomic<std::uint32_t>, kMaxPipelineBlocks> block_epoch{};
};

class Pipeline {
 public:
  // Checks units (1..kMaxPipelineUnits, executors non-null, one shared layout), options and the
  // plan; allocates the slot pool; starts and pins the workers. Errors name the unit or field.
  static Result<std::unique_ptr<Pipeline>> create(std::vector<PipelineUnit> units, const PipelinePlan& plan,
                                                  const PipelineOptions& options, const Clock& clock, ResultFn on_result);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Copies one model input (boundary 0: input_floats() floats) into a free slot and starts it.
  // Blocks while all slots are in flight (back-pressure). Applies a pending plan first (epoch
  // barrier, see above). Errors: wrong size, stopped. No allocation.
  Status submit(const float* input, std::int64_t n_floats, std::uint64_t tag) noexcept;
  // Validated now, applied by the next submit(). Replaces an earlier pending plan.
  Status set_plan(const PipelinePlan& plan);
  // Waits until every submitted frame has been delivered.
  void drain() noexcept;
  // Drains, then stops and joins the workers. Idempotent; submit() fails afterwards.
  void stop() noexcept;

  PipelinePlan plan() const;            // the plan new frames are admitted under
  std::uint32_t epoch() const noexcept { return epoch_.load(std::memory_order_relaxed); }
  std::uint64_t frames_done() const noexcept { return done_.load(std::memory_order_relaxed); }
  std::uint64_t frames_failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  std::int64_t input_floats() const noexcept { return input_floats_; }
  int num_units() const noexcept { return static_cast<int>(units_.size()); }
  int num_blocks() const noexcept { return layout_->num_blocks(); }
  const PipelineUnit& unit(int u) const { return units_[static_cast<size_t>(u)]; }
  std::vector<std::string> unit_names() const;
  const UnitStats& stats(int u) const { return *stats_[static_cast<size_t>(u)]; }
  // Total time frames waited for a plan switch (drain bubbles), for the reconfiguration cost.
  std::int64_t switch_wait_ns() const noexcept { return switch_wait_ns_.load(std::memory_order_relaxed); }

 private:
  struct Slot;
  Pipeline(std::vector<PipelineUnit> units, const PipelineOptions& options, const Clock& clock, ResultFn on_result);
  void worker(int u) noexcept;
  void finish(int slot) noexcept;

  std::vector<PipelineUnit> units_;
  PipelineOptions options_;
  const Clock& clock_;
  ResultFn on_result_;
  const BoundaryLayout* layout_ = nullptr;
  std::int64_t input_floats_ = 0, slot_floats_ = 0;
  int max_tensors_ = 1;

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<SlotQueue>> queues_;   // one input queue per unit
  std::vector<std::unique_ptr<UnitStats>> stats_;
  std::vector<std::thread> threads_;

  mutable std::mutex m_;                 // source side: free list, plan, epoch switch
  std::condition_variable cv_;
  std::vector<int> free_;                // free slot indices (capacity = slots, never grows)
  PipelinePlan active_;
  std::optional<PipelinePlan> pending_;
  int in_flight_ = 0;
  bool stopped_ = false;
  std::uint64_t next_seq_ = 0;
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint64_t> done_{0}, failed_{0};
  std::atomic<std::int64_t> switch_wait_ns_{0};
};

// Pins the calling thread (or `thread`) to the given cores. Errors name the cores.
Status pin_thread(std::thread::native_handle_type thread, const std::vector<int>& cpu_ids);

}  // namespace hetsched::runtime
