// Blocking calls that may hang, with a deadline (see the header).
#include "common/deadline_gate.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace mp {
namespace {

struct PendingCall {
  std::function<void()> call;
  std::mutex mutex;
  std::condition_variable done;
  bool finished = false;
  bool started = false;
  bool abandoned = false;  // the caller stopped waiting and counted it overdue
};

void run_guarded(const std::function<void()>& call) noexcept {
  try {
    call();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a call must not end its worker's process
  }
}

}  // namespace

struct DeadlineGate::State {
  State(int max, std::function<void()> probe_call)
      : max_workers(max), probe(std::move(probe_call)) {}
  const int max_workers;
  const std::function<void()> probe;
  std::atomic<std::int64_t> probe_started{0};  // steady_clock ns of the running probe, or 0
  std::atomic<int> overdue{0};
  // 0: calls run. Else steady_clock nanoseconds: before then calls are refused; after, one
  // call at a time (`probing`) finds out whether the server is back.
  std::atomic<std::int64_t> refuse_until{0};
  std::atomic<bool> probing{false};
  std::mutex mutex;  // guards the rest
  std::condition_variable work;
  std::deque<std::shared_ptr<PendingCall>> queue;
  int idle = 0;
  int workers = 0;
  pid_t pid = ::getpid();  // a fork() child has none of its parent's workers
};

namespace {

using State = DeadlineGate::State;
using Clock = std::chrono::steady_clock;

// Threads in all, overdue ones included, per allowed running call.
constexpr int kThreadLimitFactor = 4;

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Starts a refusal period unless one is running. True when this call started it.
bool trip(State& state, std::chrono::milliseconds length) noexcept {
  std::int64_t now = now_ns();
  std::int64_t until = now + std::chrono::duration_cast<std::chrono::nanoseconds>(length).count();
  std::int64_t current = state.refuse_until.load();
  while (current <= now) {
    if (state.refuse_until.compare_exchange_weak(current, until)) return true;
  }
  return false;
}

void worker_loop(const std::shared_ptr<State>& state) noexcept {
  while (true) {
    std::shared_ptr<PendingCall> pending;
    {
      std::unique_lock<std::mutex> lock(state->mutex);
      ++state->idle;
      state->work.wait(lock, [&state] { return !state->queue.empty(); });
      --state->idle;
      pending = std::move(state->queue.front());
      state->queue.pop_front();
    }
    {
      // A call whose caller already gave up while it waited for a worker is not run late:
      // a save reported as failed must not land over newer data afterwards.
      std::lock_guard<std::mutex> lock(pending->mutex);
      pending->started = !pending->abandoned;
    }
    if (pending->started) run_guarded(pending->call);
    std::lock_guard<std::mutex> lock(pending->mutex);
    pending->finished = true;
    if (pending->abandoned) state->overdue.fetch_sub(1);
    pending->done.notify_all();
  }
}

// In a fork() child only the forking thread exists: none of the workers, none of the late
// calls, none of the waiting callers.
void forget_parent_workers(State& state) noexcept {
  pid_t pid = ::getpid();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.pid == pid) return;
  state.pid = pid;
  state.workers = 0;
  state.idle = 0;
  state.queue.clear();
  state.overdue.store(0);
  state.refuse_until.store(0);
  state.probing.store(false);
  state.probe_started.store(0);
}

// Ends a probe however run() returns: one that succeeded lets every call run again.
class ProbeEnd {
 public:
  explicit ProbeEnd(State* state) noexcept : state_(state) {}
  ProbeEnd(const ProbeEnd&) = delete;
  ProbeEnd& operator=(const ProbeEnd&) = delete;
  ProbeEnd(ProbeEnd&&) = delete;
  ProbeEnd& operator=(ProbeEnd&&) = delete;
  ~ProbeEnd() {
    if (state_ != nullptr) state_->probing.store(false);
  }
  void succeeded() noexcept {
    if (state_ != nullptr) state_->refuse_until.store(0);
  }

 private:
  State* state_;
};

// Queues the call; starts a worker when none is idle and there is room. False: no worker
// could be started and none exists, so nothing would ever run the call.
bool enqueue(const std::shared_ptr<State>& state, std::shared_ptr<PendingCall> pending) {
  std::lock_guard<std::mutex> lock(state->mutex);
  bool room = state->workers - state->overdue.load() < state->max_workers &&
              state->workers < kThreadLimitFactor * state->max_workers;
  if (state->idle <= static_cast<int>(state->queue.size()) && room) {
    try {
      std::thread([state] { worker_loop(state); }).detach();
      ++state->workers;
    } catch (...) {
      if (state->workers == 0) return false;
    }
  }
  state->queue.push_back(std::move(pending));
  state->work.notify_one();
  return true;
}

// After a refusal: runs the gate's probe on a worker unless one is running and not yet late.
void start_background_probe(const std::shared_ptr<State>& state,
                            std::chrono::milliseconds deadline) noexcept {
  std::int64_t now = now_ns();
  std::int64_t length = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline).count();
  std::int64_t running = state->probe_started.load();
  if (running != 0 && now - running < length) return;
  if (!state->probe_started.compare_exchange_strong(running, now)) return;
  try {
    auto pending = std::make_shared<PendingCall>();
    pending->call = [state, now, length] {
      state->probe();
      // An answer within the deadline lets every call run again. A late one (a server that
      // was paused) may mean it is back, or slow: the next caller starts another probe at once.
      std::int64_t done = now_ns();
      state->refuse_until.store(done - now <= length ? 0 : done);
      std::int64_t mine = now;
      state->probe_started.compare_exchange_strong(mine, 0);
    };
    if (!enqueue(state, std::move(pending))) state->probe_started.store(0);
  } catch (...) {
    state->probe_started.store(0);  // no memory: the next caller tries again
  }
}

}  // namespace

DeadlineGate::DeadlineGate(int max_workers, std::function<void()> probe)
    : state_(std::make_shared<State>(max_workers < 1 ? 1 : max_workers, std::move(probe))) {}

DeadlineGate::~DeadlineGate() = default;

int DeadlineGate::overdue() const noexcept { return state_->overdue.load(); }

DeadlineGate::Outcome DeadlineGate::run(std::function<void()> call,
                                        std::chrono::milliseconds deadline) noexcept {
  forget_parent_workers(*state_);
  std::int64_t refusing = state_->refuse_until.load();
  if (refusing != 0 && state_->probe) {
    if (now_ns() >= refusing) start_background_probe(state_, deadline);
    return Outcome::kRefused;
  }
  if (refusing != 0) {
    bool free = false;
    if (now_ns() < refusing || !state_->probing.compare_exchange_strong(free, true)) {
      return Outcome::kRefused;
    }
  }
  // The probe after a refusal: success closes the gate, a timeout trips it again.
  ProbeEnd probe_end(refusing != 0 ? state_.get() : nullptr);
  std::shared_ptr<PendingCall> pending;
  try {
    pending = std::make_shared<PendingCall>();
    pending->call = std::move(call);
    if (!enqueue(state_, pending)) {
      run_guarded(pending->call);
      probe_end.succeeded();
      return Outcome::kFinished;
    }
  } catch (...) {
    // Out of memory: the call still runs, without a deadline.
    if (pending && pending->call) {
      run_guarded(pending->call);
    } else if (call) {
      run_guarded(call);
    }
    probe_end.succeeded();
    return Outcome::kFinished;
  }
  std::unique_lock<std::mutex> lock(pending->mutex);
  if (pending->done.wait_for(lock, deadline, [&pending] { return pending->finished; })) {
    probe_end.succeeded();
    return Outcome::kFinished;
  }
  pending->abandoned = true;
  state_->overdue.fetch_add(1);
  lock.unlock();
  return trip(*state_, deadline) ? Outcome::kTripped : Outcome::kTimedOut;
}

}  // namespace mp
