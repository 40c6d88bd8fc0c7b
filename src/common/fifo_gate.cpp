// FIFO hand-off gate: an intrusive queue of per-thread semaphores under a short mutex.
#include "common/fifo_gate.h"

namespace mp::common {

FifoGate::Waiter& FifoGate::this_thread_waiter() noexcept {
  thread_local Waiter waiter;
  return waiter;
}

void FifoGate::enter() noexcept {
  Waiter& self = this_thread_waiter();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!held_) {
      held_ = true;
      return;
    }
    self.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &self;
    } else {
      head_ = &self;
    }
    tail_ = &self;
  }
  self.turn.acquire();  // leave() of the previous holder hands the gate over: held_ stays true
}

void FifoGate::leave() noexcept {
  Waiter* next = nullptr;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    next = head_;
    if (next == nullptr) {
      held_ = false;
      return;
    }
    head_ = next->next;
    if (head_ == nullptr) tail_ = nullptr;
  }
  next->turn.release();
}

}  // namespace mp::common
