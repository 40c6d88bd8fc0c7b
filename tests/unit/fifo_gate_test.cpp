// FifoGate: mutual exclusion and strict arrival order under real threads.
#include "common/fifo_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using mp::common::FifoGate;
using mp::common::FifoGateTurn;

TEST(FifoGate, UncontendedEnterAndLeave) {
  FifoGate gate;
  for (int i = 0; i < 3; ++i) {
    gate.enter();
    gate.leave();
  }
}

TEST(FifoGate, ExcludesConcurrentHolders) {
  FifoGate gate;
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  long counter = 0;  // unsynchronised on purpose: the gate must be the only protection
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        const FifoGateTurn turn(gate);
        if (inside.fetch_add(1) != 0) overlap = true;
        ++counter;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(counter, 8L * 5000);
}

// Threads queue one after another behind a holder; they must get through in that order.
TEST(FifoGate, HandsOverInArrivalOrder) {
  constexpr int kWaiters = 6;
  FifoGate gate;
  std::atomic<int> queued{0};
  std::vector<int> order;
  std::vector<std::thread> threads;
  gate.enter();
  for (int id = 0; id < kWaiters; ++id) {
    threads.emplace_back([&, id] {
      queued.fetch_add(1);
      const FifoGateTurn turn(gate);
      order.push_back(id);
    });
    // Wait until this thread has announced itself, then give it time to block in enter().
    while (queued.load() != id + 1) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A newcomer arriving while the others wait must not overtake them.
  std::thread late([&] {
    const FifoGateTurn turn(gate);
    order.push_back(kWaiters);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.leave();
  for (auto& th : threads) th.join();
  late.join();
  std::vector<int> expected;
  for (int id = 0; id <= kWaiters; ++id) expected.push_back(id);
  EXPECT_EQ(order, expected);
}

}  // namespace
