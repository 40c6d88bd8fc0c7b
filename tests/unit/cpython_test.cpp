// Unit tests of src/cpython with a real embedded interpreter: references, interpreter registry,
// attach/detach from many threads, string conversions, exception formatting.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cpython/exception.h"
#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "cpython/runtime.h"
#include "cpython/strings.h"

namespace mp::cpython {
namespace {

Interpreter& interp(const char* name) {
  std::string error;
  Interpreter* found = InterpreterRegistry::instance().get(name, &error);
  EXPECT_NE(found, nullptr) << error;
  return *found;
}

long run_int(const Gil& /*gil*/, const char* code, const char* result_name) {
  PyObject* main = PyImport_AddModule("__main__");
  PyObject* globals = PyModule_GetDict(main);
  Ref r = Ref::steal(PyRun_String(code, Py_file_input, globals, globals));
  if (!r) {
    PyErr_Print();
    return -999;
  }
  PyObject* value = PyDict_GetItemString(globals, result_name);
  return value ? PyLong_AsLong(value) : -998;
}

TEST(Ref, CountsReferences) {
  AttachScope scope(interp("main_interpreter"));
  PyObject* raw = PyList_New(0);
  Ref owner = Ref::steal(raw);
  EXPECT_EQ(Py_REFCNT(raw), 1);
  {
    Ref copy = owner;
    EXPECT_EQ(Py_REFCNT(raw), 2);
    Ref moved = std::move(copy);
    EXPECT_EQ(Py_REFCNT(raw), 2);
    EXPECT_TRUE(copy.is_null());
  }
  EXPECT_EQ(Py_REFCNT(raw), 1);
  Ref other = Ref::borrow(raw);
  other = owner;  // self-equal assignment keeps the count right
  EXPECT_EQ(Py_REFCNT(raw), 2);
}

TEST(Registry, SameNameSameInterpreter) {
  Interpreter& a1 = interp("a.test");
  Interpreter& a2 = interp("a.test");
  Interpreter& b = interp("b.test");
  EXPECT_EQ(&a1, &a2);
  EXPECT_NE(a1.state(), b.state());
  EXPECT_FALSE(a1.is_main());
  EXPECT_TRUE(interp("main_interpreter").is_main());
}

TEST(Registry, InterpretersDoNotShareGlobals) {
  {
    AttachScope scope(interp("a.test"));
    EXPECT_EQ(run_int(scope.gil(), "import sys\nsys.marker = 41\nv = sys.marker + 1", "v"), 42);
  }
  {
    AttachScope scope(interp("b.test"));
    EXPECT_EQ(run_int(scope.gil(), "import sys\nv = getattr(sys, 'marker', 7)", "v"), 7);
  }
}

TEST(Attach, NestedAndSwapped) {
  Interpreter& a = interp("a.test");
  Interpreter& b = interp("b.test");
  AttachScope outer(a);
  {
    AttachScope same(a);  // re-entrant: no second acquisition
    EXPECT_EQ(PyThreadState_Get()->interp, a.state());
  }
  {
    AttachScope other(b);  // swaps to b, swaps back on exit
    EXPECT_EQ(PyThreadState_Get()->interp, b.state());
  }
  EXPECT_EQ(PyThreadState_Get()->interp, a.state());
  {
    DetachScope io(outer.gil());
    AttachScope again(b);  // another attach while detached works
    EXPECT_EQ(PyThreadState_Get()->interp, b.state());
  }
  EXPECT_EQ(PyThreadState_Get()->interp, a.state());
}

TEST(Attach, ManyThreadsManyInterpreters) {
  const char* names[] = {"t1", "t2", "t3", "t4"};
  for (const char* n : names) {
    AttachScope scope(interp(n));
    run_int(scope.gil(), "counter = 0\nv = 0", "v");
  }
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        AttachScope scope(interp(names[(t + i) % 4]));
        if (run_int(scope.gil(), "counter += 1\nv = counter", "v") < 1) ++failures;
        if (i % 10 == 0) {
          DetachScope io(scope.gil());
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  long total = 0;
  for (const char* n : names) {
    AttachScope scope(interp(n));
    total += run_int(scope.gil(), "v = counter", "v");
  }
  EXPECT_EQ(total, kThreads * kRounds);
}

TEST(Strings, ApacheToPythonNeverRaises) {
  AttachScope scope(interp("main_interpreter"));
  Ref s = str_from_bytes(scope.gil(), std::string_view("a\xff"
                                                       "b",
                                                       3));
  ASSERT_TRUE(s);
  EXPECT_EQ(PyUnicode_GET_LENGTH(s.get()), 3);
  EXPECT_EQ(PyUnicode_READ_CHAR(s.get(), 1), 0xDCFFu);
  EXPECT_EQ(str_or_none(scope.gil(), nullptr).get(), Py_None);
}

TEST(Strings, PythonToApacheRules) {
  AttachScope scope(interp("main_interpreter"));
  std::string out;
  Ref latin = Ref::steal(PyUnicode_FromString("caf\xc3\xa9"));
  ASSERT_TRUE(apache_string(scope.gil(), latin.get(), &out));
  EXPECT_EQ(out, "caf\xe9");
  // Surrogate escapes round-trip to their byte.
  Ref escaped = str_from_bytes(scope.gil(), std::string_view("\xff\xfe", 2));
  ASSERT_TRUE(apache_string(scope.gil(), escaped.get(), &out));
  EXPECT_EQ(out, "\xff\xfe");
  Ref wide = Ref::steal(PyUnicode_FromString("\xe2\x82\xac"));  // U+20AC
  EXPECT_FALSE(apache_string(scope.gil(), wide.get(), &out));
  EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_TypeError));
  PyErr_Clear();
  Ref nul = Ref::steal(PyUnicode_FromStringAndSize("a\0b", 3));
  EXPECT_FALSE(apache_string(scope.gil(), nul.get(), &out));
  EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_ValueError));
  PyErr_Clear();
  Ref number = Ref::steal(PyLong_FromLong(3));
  EXPECT_FALSE(apache_string(scope.gil(), number.get(), &out));
  PyErr_Clear();
}

TEST(Strings, BodyData) {
  AttachScope scope(interp("main_interpreter"));
  BodyData body;
  Ref text = Ref::steal(PyUnicode_FromString("h\xc3\xa9"));
  ASSERT_TRUE(body_data(scope.gil(), text.get(), &body));
  EXPECT_EQ(std::string(body.data, body.size), "h\xc3\xa9");
  Ref bytes = Ref::steal(PyBytes_FromStringAndSize("\x00\x01", 2));
  ASSERT_TRUE(body_data(scope.gil(), bytes.get(), &body));
  EXPECT_EQ(body.size, 2u);
  Ref none = Ref::borrow(Py_None);
  EXPECT_FALSE(body_data(scope.gil(), none.get(), &body));
  PyErr_Clear();
}

TEST(Exceptions, FormatsTraceback) {
  AttachScope scope(interp("main_interpreter"));
  PyObject* globals = PyModule_GetDict(PyImport_AddModule("__main__"));
  Ref r = Ref::steal(
      PyRun_String("def f():\n    raise KeyError('x')\nf()\n", Py_file_input, globals, globals));
  ASSERT_FALSE(r);
  auto formatted = format_current_exception(scope.gil());
  const auto& lines = formatted.lines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.front(), "Traceback (most recent call last):");
  EXPECT_EQ(lines.back(), "KeyError: 'x'");
  EXPECT_FALSE(PyErr_Occurred());
}

TEST(Exceptions, FramesLiveUntilTheFormattedLinesAreDropped) {
  AttachScope scope(interp("main_interpreter"));
  PyObject* globals = PyModule_GetDict(PyImport_AddModule("__main__"));
  Ref r =
      Ref::steal(PyRun_String("freed = []\n"
                              "class Local:\n"
                              "    def __del__(self):\n"
                              "        freed.append(1)\n"
                              "def g():\n"
                              "    local = Local()\n"
                              "    raise KeyError('y')\n"
                              "g()\n",
                              Py_file_input, globals, globals));
  ASSERT_FALSE(r);
  PyObject* freed = PyDict_GetItemString(globals, "freed");
  ASSERT_NE(freed, nullptr);
  {
    auto formatted = format_current_exception(scope.gil());
    EXPECT_EQ(formatted.lines().back(), "KeyError: 'y'");
    EXPECT_EQ(PyList_GET_SIZE(freed), 0);  // the frame still holds `local`
  }
  EXPECT_EQ(PyList_GET_SIZE(freed), 1);
}

}  // namespace
}  // namespace mp::cpython

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string error;
  if (!mp::cpython::start_python({}, &error)) {
    fprintf(stderr, "cannot start Python: %s\n", error.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
