// A gate that lets one thread through at a time, strictly in arrival order. The holder hands
// the gate straight to the longest waiter, so a thread arriving later can never overtake one
// that is already queued (a plain mutex lets newcomers barge in, which starves some waiters).
#pragma once

#include <mutex>
#include <semaphore>

namespace mp::common {

class FifoGate {
 public:
  FifoGate() = default;
  FifoGate(const FifoGate&) = delete;
  FifoGate& operator=(const FifoGate&) = delete;

  // Blocks until every thread that entered earlier has left, then holds the gate.
  void enter() noexcept;
  // Passes the gate to the next waiter, or opens it. Only the holder may call this.
  void leave() noexcept;

 private:
  // One per thread (a thread waits in at most one gate at a time), linked while queued.
  struct Waiter {
    std::binary_semaphore turn{0};
    Waiter* next = nullptr;
  };
  static Waiter& this_thread_waiter() noexcept;

  std::mutex mutex_;  // guards the fields below; held only for a few instructions
  bool held_ = false;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

// Holds `gate` for the scope's lifetime.
class FifoGateTurn {
 public:
  explicit FifoGateTurn(FifoGate& gate) noexcept : gate_(gate) { gate_.enter(); }
  ~FifoGateTurn() { gate_.leave(); }
  FifoGateTurn(const FifoGateTurn&) = delete;
  FifoGateTurn& operator=(const FifoGateTurn&) = delete;

 private:
  FifoGate& gate_;
};

}  // namespace mp::common
