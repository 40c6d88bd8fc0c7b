// Blocking calls that may hang (a network store that stops answering) with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace mp {

// Runs calls on a few worker threads of its own and stops waiting for a call after a
// deadline. A call that overran keeps its worker until it returns, and until then every later
// call through the same gate is refused at once: a hung server costs this process the calls
// that were already running, not one thread per request. Calls must own what they touch (their
// caller may be gone when they finish).
class DeadlineGate {
 public:
  enum class Outcome {
    kFinished,  // the call returned in time
    kTimedOut,  // still running; the gate refuses calls until it returns
    kRefused,   // an earlier call is still overdue: not run
  };

  // At most `max_workers` calls run at once; more wait for a worker (within their deadline).
  explicit DeadlineGate(int max_workers = 8);
  ~DeadlineGate();
  DeadlineGate(const DeadlineGate&) = delete;
  DeadlineGate& operator=(const DeadlineGate&) = delete;
  DeadlineGate(DeadlineGate&&) = delete;
  DeadlineGate& operator=(DeadlineGate&&) = delete;

  // Never throws. When no worker can be started the call runs on the caller's thread.
  Outcome run(std::function<void()> call, std::chrono::milliseconds deadline) noexcept;

  // Calls that overran and have not returned yet.
  [[nodiscard]] int overdue() const noexcept;

  struct State;  // shared with the workers, which outlive the gate

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mp
