// Unit tests of the pure helpers: handler specs, directive arguments, extensions, phases.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/deadline_gate.h"
#include "common/extension_list.h"
#include "common/handler_spec.h"
#include "common/path_util.h"
#include "common/phase.h"
#include "common/session_store_lifetime.h"

namespace mp {
namespace {

TEST(HandlerSpec, ModuleOnly) {
  HandlerSpec spec;
  ASSERT_TRUE(parse_handler_spec("mymod", &spec));
  EXPECT_EQ(spec.module, "mymod");
  EXPECT_EQ(spec.object, "");
}

TEST(HandlerSpec, DottedModuleAndObject) {
  HandlerSpec spec;
  ASSERT_TRUE(parse_handler_spec("pkg.mod::Class.method", &spec));
  EXPECT_EQ(spec.module, "pkg.mod");
  EXPECT_EQ(spec.object, "Class.method");
}

TEST(HandlerSpec, RejectsMalformed) {
  HandlerSpec spec;
  EXPECT_FALSE(parse_handler_spec("", &spec));
  EXPECT_FALSE(parse_handler_spec("::handler", &spec));
  EXPECT_FALSE(parse_handler_spec("mod::", &spec));
  EXPECT_FALSE(parse_handler_spec("a..b", &spec));
  EXPECT_FALSE(parse_handler_spec("1abc", &spec));
  EXPECT_FALSE(parse_handler_spec("/srv/app/handler.py", &spec));
  EXPECT_FALSE(parse_handler_spec("mod::a b", &spec));
}

TEST(HandlerDirective, SeveralHandlersAndExtensions) {
  HandlerDirectiveArgs args;
  EXPECT_EQ(parse_handler_directive("a b::c | .py .psp", &args), "");
  ASSERT_EQ(args.handlers.size(), 2u);
  EXPECT_EQ(args.handlers[1], "b::c");
  ASSERT_EQ(args.extensions.size(), 2u);
  EXPECT_EQ(args.extensions[0], ".py");
}

TEST(HandlerDirective, Errors) {
  HandlerDirectiveArgs a;
  EXPECT_NE(parse_handler_directive("", &a), "");
  HandlerDirectiveArgs b;
  EXPECT_NE(parse_handler_directive("mod |", &b), "");
  HandlerDirectiveArgs c;
  EXPECT_NE(parse_handler_directive("mod | py", &c), "");
  HandlerDirectiveArgs d;
  EXPECT_NE(parse_handler_directive("mod | .a | .b", &d), "");
  HandlerDirectiveArgs e;
  EXPECT_NE(parse_handler_directive("bad/name", &e), "");
}

TEST(FilenameExtension, FirstDotOfBasename) {
  EXPECT_EQ(filename_extension("/srv/a.tar.gz"), ".tar.gz");
  EXPECT_EQ(filename_extension("/srv.d/file"), "");
  EXPECT_EQ(filename_extension("page.py"), ".py");
  EXPECT_EQ(filename_extension(""), "");
}

TEST(Phase, LookupAndContinueRules) {
  EXPECT_EQ(phase_from_directive("pythonhandler"), Phase::kHandler);
  EXPECT_FALSE(phase_from_directive("PythonNothing").has_value());
  EXPECT_EQ(phase_info(Phase::kAuthen).default_object, "authenhandler");
  EXPECT_TRUE(should_continue(Phase::kHandler, kResultOk));
  EXPECT_FALSE(should_continue(Phase::kHandler, kResultDeclined));
  EXPECT_TRUE(should_continue(Phase::kTrans, kResultDeclined));
  EXPECT_FALSE(should_continue(Phase::kTrans, kResultOk));
  EXPECT_TRUE(should_continue(Phase::kFixup, kResultDeclined));
  EXPECT_FALSE(should_continue(Phase::kFixup, 403));
  EXPECT_FALSE(phase_info(Phase::kTrans).accepts_extensions);
}

TEST(PathUtil, Slashes) {
  EXPECT_EQ(with_trailing_slash("/a"), "/a/");
  EXPECT_EQ(with_trailing_slash("/a/"), "/a/");
  EXPECT_EQ(parent_directory("/a/b.py"), "/a/");
  EXPECT_EQ(parent_directory("b.py"), "");
}

TEST(ExtensionList, KeysAsModMimeFilesThem) {
  EXPECT_EQ(mime_extension_key(".py"), "py");
  EXPECT_EQ(mime_extension_key(".PSP"), "psp");
  EXPECT_EQ(mime_extension_key("mpy"), "mpy");
  EXPECT_EQ(mime_extension_key("..x"), ".x");  // mod_mime drops one dot only
  EXPECT_EQ(mime_extension_key("."), "");
}

TEST(ExtensionList, AddsOnceAndSkipsEmpty) {
  std::string list;
  add_extension(&list, ".py");
  add_extension(&list, ".PY");
  add_extension(&list, ".");
  add_extension(&list, "mpy");
  EXPECT_EQ(list, "py mpy");
}

TEST(ExtensionList, MergeKeepsOrderWithoutRepeats) {
  EXPECT_EQ(merge_extension_lists("py psp", "psp sub"), "py psp sub");
  EXPECT_EQ(merge_extension_lists("", " py  "), "py");
  EXPECT_EQ(merge_extension_lists("", ""), "");
}

// What a provider that turns the expiry back into whole seconds from a slightly later now,
// rounding down (httpd's redis and memcache providers), ends up storing.
long long stored_seconds(std::int64_t lifetime_us, std::int64_t provider_delay_us) {
  return (lifetime_us - provider_delay_us) / 1000000;
}

TEST(SessionStoreLifetime, AProviderRoundingDownStillGetsTheWholeTtl) {
  for (long long ttl : {1LL, 3LL, 1800LL, 86400LL}) {
    for (std::int64_t delay : {1LL, 1000LL, 500000LL}) {
      EXPECT_EQ(stored_seconds(session_store_lifetime_us("redis", ttl), delay), ttl)
          << ttl << " s, provider " << delay << " us later";
    }
  }
}

TEST(SessionStoreLifetime, NeverLessThanOneSecond) {
  EXPECT_EQ(stored_seconds(session_store_lifetime_us("shmcb", 0), 1), 1);
  EXPECT_EQ(stored_seconds(session_store_lifetime_us("shmcb", -5), 1), 1);
}

TEST(SessionStoreLifetime, MemcacheStaysWithinMemcachedsRelativeRange) {
  // Above 30 days memcached would read the number as a (past) Unix time.
  for (long long ttl :
       {kMemcacheMaxRelativeSeconds, kMemcacheMaxRelativeSeconds + 86400, 9223372036854775807LL}) {
    long long stored = stored_seconds(session_store_lifetime_us("memcache", ttl), 1);
    EXPECT_LE(stored, kMemcacheMaxRelativeSeconds) << ttl;
    EXPECT_GE(stored, kMemcacheMaxRelativeSeconds - 1) << ttl;
  }
  EXPECT_EQ(stored_seconds(session_store_lifetime_us("MEMCACHE", 60), 1), 60);
}

TEST(SessionStoreLifetime, HugeTimeoutsAreClampedNotOverflowed) {
  std::int64_t us = session_store_lifetime_us("shmcb", 9223372036854775807LL);
  EXPECT_GT(us, 0);
  EXPECT_LE(us / 1000000, kProviderMaxSeconds);
  EXPECT_GT(session_store_lifetime_us("redis", 10LL * 365 * 86400), 0);
}

using std::chrono::milliseconds;

TEST(DeadlineGate, ACallThatReturnsInTimeIsFinished) {
  DeadlineGate gate;
  int value = 0;
  EXPECT_EQ(gate.run([&value] { value = 42; }, milliseconds(5000)),
            DeadlineGate::Outcome::kFinished);
  EXPECT_EQ(value, 42);
  EXPECT_EQ(gate.overdue(), 0);
}

TEST(DeadlineGate, AHungCallTripsTheGateForOneDeadline) {
  DeadlineGate gate;
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(gate.run([released] { released.wait(); }, milliseconds(200)),
            DeadlineGate::Outcome::kTripped);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(200));
  EXPECT_EQ(gate.overdue(), 1);

  bool ran = false;
  EXPECT_EQ(gate.run([&ran] { ran = true; }, milliseconds(200)), DeadlineGate::Outcome::kRefused);
  EXPECT_FALSE(ran);

  // Once the refusal is over, calls run again on another worker, the hung one still hanging.
  std::this_thread::sleep_for(milliseconds(250));
  EXPECT_EQ(gate.run([&ran] { ran = true; }, milliseconds(5000)), DeadlineGate::Outcome::kFinished);
  EXPECT_TRUE(ran);
  EXPECT_EQ(gate.overdue(), 1);

  release->set_value();
  for (int i = 0; i < 500 && gate.overdue() != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(gate.overdue(), 0);
}

TEST(DeadlineGate, OnlyTheFirstLateCallTripsTheGate) {
  DeadlineGate gate;
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto hang = [released] { released.wait(); };
  auto second = std::async(std::launch::async, [&gate, hang] {
    std::this_thread::sleep_for(milliseconds(50));  // starts before the first one trips
    return gate.run(hang, milliseconds(300));
  });
  EXPECT_EQ(gate.run(hang, milliseconds(300)), DeadlineGate::Outcome::kTripped);
  EXPECT_EQ(second.get(), DeadlineGate::Outcome::kTimedOut);
  EXPECT_EQ(gate.overdue(), 2);
  release->set_value();
  for (int i = 0; i < 500 && gate.overdue() != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(gate.overdue(), 0);
}

TEST(DeadlineGate, ALateCallMayOutliveItsGate) {
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  {
    DeadlineGate gate;
    EXPECT_EQ(gate.run(
                  [released, finished] {
                    released.wait();
                    finished->store(true);
                  },
                  milliseconds(20)),
              DeadlineGate::Outcome::kTripped);
  }
  release->set_value();
  for (int i = 0; i < 500 && !finished->load(); ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(finished->load());
}

TEST(DeadlineGate, AForkedChildStartsItsOwnWorkers) {
  DeadlineGate gate;
  ASSERT_EQ(gate.run([] {}, milliseconds(5000)), DeadlineGate::Outcome::kFinished);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the parent's worker is not here: a call must still run
    int value = 0;
    bool ok =
        gate.run([&value] { value = 7; }, milliseconds(5000)) == DeadlineGate::Outcome::kFinished &&
        value == 7;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(DeadlineGate, AfterARefusalOneProbeAtATimeFindsOutWhetherTheServerIsBack) {
  DeadlineGate gate;
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto hang = [released] { released.wait(); };
  EXPECT_EQ(gate.run(hang, milliseconds(100)), DeadlineGate::Outcome::kTripped);
  std::this_thread::sleep_for(milliseconds(150));
  // The probe hangs too; while it runs, other calls are refused, and it trips the gate again.
  auto probe =
      std::async(std::launch::async, [&gate, hang] { return gate.run(hang, milliseconds(1000)); });
  std::this_thread::sleep_for(milliseconds(200));
  bool ran = false;
  EXPECT_EQ(gate.run([&ran] { ran = true; }, milliseconds(1000)), DeadlineGate::Outcome::kRefused);
  EXPECT_EQ(probe.get(), DeadlineGate::Outcome::kTripped);
  EXPECT_FALSE(ran);
  // The server is back: the next probe succeeds and every call runs again.
  release->set_value();
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_EQ(gate.run([&ran] { ran = true; }, milliseconds(1000)), DeadlineGate::Outcome::kFinished);
  EXPECT_TRUE(ran);
  int runs = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(gate.run([&runs] { ++runs; }, milliseconds(1000)), DeadlineGate::Outcome::kFinished);
  }
  EXPECT_EQ(runs, 3);
}

TEST(DeadlineGate, WithAProbeNoCallerWaitsForTheServerToComeBack) {
  auto server_back = std::make_shared<std::atomic<bool>>(false);
  auto probes = std::make_shared<std::atomic<int>>(0);
  // The probe hangs (longer than the deadline) until the server is back.
  DeadlineGate gate(8, [server_back, probes] {
    ++*probes;
    while (!server_back->load()) std::this_thread::sleep_for(milliseconds(5));
  });
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  EXPECT_EQ(gate.run([released] { released.wait(); }, milliseconds(100)),
            DeadlineGate::Outcome::kTripped);
  std::this_thread::sleep_for(milliseconds(150));
  // Refusal over: this call starts the probe and is refused at once, like those after it.
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    bool ran = false;
    EXPECT_EQ(gate.run([&ran] { ran = true; }, milliseconds(100)), DeadlineGate::Outcome::kRefused);
    EXPECT_FALSE(ran);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
  }
  for (int i = 0; i < 100 && probes->load() == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(probes->load(), 1);
  // The server comes back after the probe's deadline: that late answer makes the next call
  // start another probe at once, and that one opens the gate.
  std::this_thread::sleep_for(milliseconds(200));
  server_back->store(true);
  release->set_value();
  bool ran = false;
  for (int i = 0; i < 200 && !ran; ++i) {
    gate.run([&ran] { ran = true; }, milliseconds(100));
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(ran);
  EXPECT_GE(probes->load(), 2);
}

TEST(DeadlineGate, ACallWhoseCallerGaveUpBeforeItStartedNeverRuns) {
  DeadlineGate gate(1);
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  // Holds the only worker, within its (long) deadline.
  auto busy = std::async(std::launch::async, [&gate, released] {
    return gate.run([released] { released.wait(); }, milliseconds(5000));
  });
  std::this_thread::sleep_for(milliseconds(200));
  auto late = std::make_shared<std::atomic<bool>>(false);
  EXPECT_EQ(gate.run([late] { late->store(true); }, milliseconds(100)),
            DeadlineGate::Outcome::kTripped);
  release->set_value();
  EXPECT_EQ(busy.get(), DeadlineGate::Outcome::kFinished);
  for (int i = 0; i < 500 && gate.overdue() != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(gate.overdue(), 0);
  EXPECT_FALSE(late->load());
}

TEST(DeadlineGate, AnExceptionInACallStaysInItsThread) {
  DeadlineGate gate;
  EXPECT_EQ(gate.run([] { throw std::runtime_error("boom"); }, milliseconds(5000)),
            DeadlineGate::Outcome::kFinished);
  EXPECT_EQ(gate.overdue(), 0);
}

}  // namespace
}  // namespace mp
