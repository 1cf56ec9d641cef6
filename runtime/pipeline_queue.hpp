// A bounded, blocking FIFO of frame-slot indices (the "zero-copy" hand-over: stages pass the
// index of a pooled boundary buffer, never the tensors). Multi-producer, multi-consumer.
//
// Why a mutex + condition variable and not a spinning SPSC ring: stage threads share cores with
// other work (and, on this machine, with a CPU hog on purpose); a spinning consumer would steal
// the very core its producer needs. One hand-over costs a few microseconds against stages of
// milliseconds. The capacity is fixed at creation (no allocation on push/pop); the pipeline
// sizes every queue to the number of frame slots, so a push can never find the queue full.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace hetsched::runtime {

class SlotQueue {
 public:
  explicit SlotQueue(int capacity) : ring_(static_cast<size_t>(capacity > 0 ? capacity : 1)) {}

  // False if the queue is full or closed (cannot happen in the pipeline; see above).
  bool push(int slot) noexcept {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (closed_ || size_ == ring_.size()) return false;
      ring_[(head_ + size_) % ring_.size()] = slot;
      ++size_;
    }
    cv_.notify_one();
    return true;
  }
  // Blocks until a slot is available; false once the queue is closed and empty.
  bool pop(int* slot) noexcept {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return size_ > 0 || closed_; });
    if (size_ == 0) return false;
    *slot = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return true;
  }
  void close() noexcept {
    {
      std::lock_guard<std::mutex> lock(m_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  int size() const noexcept {
    std::lock_guard<std::mutex> lock(m_);
    return static_cast<int>(size_);
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<int> ring_;
  size_t head_ = 0, size_ = 0;
  bool closed_ = false;
};

}  // namespace hetsched::runtime
