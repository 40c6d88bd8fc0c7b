// Blocking calls that may hang (a network store that stops answering) with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace mp {

// Runs calls on a few worker threads of its own and stops waiting for a call after a
// deadline. A call that overran keeps its worker until it returns (another worker takes its
// place, up to a hard limit), and the gate then refuses every call at once. After one
// deadline's length it finds out whether the server is back: by a probe of its own if it has
// one (no caller waits for it), else with the next caller's call. Calls must own what they
// touch (their caller may be gone when they finish).
class DeadlineGate {
 public:
  enum class Outcome {
    kFinished,  // the call returned in time
    kTripped,   // it did not, and the gate now refuses calls for a while (report this one)
    kTimedOut,  // it did not, and the gate was already refusing (another call tripped it)
    kRefused,   // not run: the gate is refusing calls
  };

  // At most `max_workers` calls run at once (overdue ones not counted, up to 4 times as many
  // threads in all); more wait for a worker, within their deadline. With a `probe` (a cheap
  // call to the same server), the gate finds out by itself, on a worker, whether the server
  // is back after a refusal, and no caller waits for that; without one, the first caller
  // after the refusal is the probe.
  explicit DeadlineGate(int max_workers = 8, std::function<void()> probe = {});
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
