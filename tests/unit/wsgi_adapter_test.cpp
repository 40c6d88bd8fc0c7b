// The WSGI adapter (src/wsgi) against a fake exchange and a real embedded interpreter: the
// PEP 3333 call protocol without Apache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "cpython/runtime.h"
#include "wsgi/adapter.h"
#include "wsgi/environ_cache.h"

namespace mp::wsgi {
namespace {

using cpython::AttachScope;
using cpython::Ref;

class FakeExchange final : public Exchange {
 public:
  std::vector<std::pair<std::string, std::string>> env = {
      {"REQUEST_METHOD", "GET"},      {"SCRIPT_NAME", "/app"},      {"PATH_INFO", "/x"},
      {"QUERY_STRING", ""},           {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"},
      {"SERVER_PROTOCOL", "HTTP/1.1"}};
  std::string input;
  std::size_t read_chunk = 1 << 20;
  bool read_error = false;
  int body_status = 0;  // body_error_status() after a failed read
  std::size_t client_gone_after = static_cast<std::size_t>(-1);  // bytes written before EPIPE

  int status = 0;
  std::string status_line;
  std::vector<Header> headers;
  int starts = 0;
  std::string body;
  int flushes = 0;
  bool finished = false;
  bool aborted = false;
  bool closed_after_response = false;
  std::vector<std::string> logs;
  std::vector<std::string> events;  // "finish" and "log <id>", in order
  int files_sent = 0;

  void environ(EnvironSink& sink) override {
    for (const auto& [k, v] : env) sink.add(k, v);
  }
  long read(char* buffer, std::size_t size, std::string* error) override {
    if (read_error) {
      *error = "simulated failure";
      return -1;
    }
    std::size_t n = std::min({size, read_chunk, input.size() - read_pos_});
    std::copy_n(input.data() + read_pos_, n, buffer);
    read_pos_ += n;
    return static_cast<long>(n);
  }
  int body_error_status() const override { return body_status; }
  IoResult start(int s, std::string_view line, const std::vector<Header>& h) override {
    ++starts;
    status = s;
    status_line = line;
    headers = h;
    return IoResult::kOk;
  }
  IoResult write(const char* data, std::size_t size, bool flush) override {
    if (body.size() + size > client_gone_after) return IoResult::kClientGone;
    body.append(data, size);
    if (flush) ++flushes;
    return IoResult::kOk;
  }
  IoResult send_file(int fd, std::uint64_t offset, std::uint64_t length) override {
    ++files_sent;
    std::string data(length, '\0');
    if (pread(fd, data.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length))
      return IoResult::kError;
    body += data;
    return IoResult::kOk;
  }
  IoResult finish() override {
    finished = true;
    events.emplace_back("finish");
    return IoResult::kOk;
  }
  void abort() override { aborted = true; }
  void close_after_response() override { closed_after_response = true; }
  void log(int /*level*/, std::string_view id, std::string_view message) override {
    logs.push_back(std::string(id) + " " + std::string(message));
    events.push_back("log " + std::string(id));
  }
  bool logged(std::string_view needle) const {
    for (const auto& l : logs) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::size_t read_pos_ = 0;
};

cpython::Interpreter& main_interp() {
  std::string error;
  return *cpython::InterpreterRegistry::instance().get(cpython::kMainInterpreterName, &error);
}

// Runs `source` (which defines `application`) for one request over `ex`.
class AdapterTest : public ::testing::Test {
 protected:
  Outcome run(const char* source, FakeExchange& ex, const RequestTraits& traits = {}) {
    AttachScope scope(main_interp());
    if (types_ == nullptr) {
      types_ = new Types();  // kept for the process, as the module keeps it per interpreter
      EXPECT_TRUE(create_types(scope.gil(), types_));
    }
    globals_ = Ref::steal(PyDict_New());
    PyDict_SetItemString(globals_.get(), "__builtins__", PyEval_GetBuiltins());
    Ref r = Ref::steal(PyRun_String(source, Py_file_input, globals_.get(), globals_.get()));
    if (!r) {
      PyErr_Print();
      ADD_FAILURE() << "source failed";
      return Outcome::kFailedBeforeResponse;
    }
    PyObject* app = PyDict_GetItemString(globals_.get(), "application");
    EXPECT_NE(app, nullptr);
    Outcome out = run_application(scope.gil(), *types_, ex, traits, app);
    EXPECT_FALSE(PyErr_Occurred());
    return out;
  }

  // The value of a Python expression evaluated in the last script's globals, as str().
  std::string eval(const char* expr) {
    AttachScope scope(main_interp());
    Ref v = Ref::steal(PyRun_String(expr, Py_eval_input, globals_.get(), globals_.get()));
    if (!v) {
      PyErr_Print();
      return "<error>";
    }
    Ref s = Ref::steal(PyObject_Str(v.get()));
    return PyUnicode_AsUTF8(s.get());
  }

  void exec(const char* code) {
    AttachScope scope(main_interp());
    Ref v = Ref::steal(PyRun_String(code, Py_file_input, globals_.get(), globals_.get()));
    if (!v) PyErr_Print();
    ASSERT_TRUE(v);
  }

  void TearDown() override {
    AttachScope scope(main_interp());
    globals_.reset();
  }

  static Types* types_;
  Ref globals_;
};
Types* AdapterTest::types_ = nullptr;

std::string text_of(const Ref& key) {
  return key ? std::string(PyUnicode_AsUTF8(key.get())) : std::string("<null>");
}

TEST(EnvironCacheTest, SameObjectForTheSameTextWhateverThePosition) {
  AttachScope scope(main_interp());
  EnvironCache keys;
  Ref a = keys.key("HTTP_HOST", 0);
  Ref b = keys.key("HTTP_HOST", 0);
  Ref c = keys.key("HTTP_HOST", 7);
  EXPECT_EQ(text_of(a), "HTTP_HOST");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a.get(), c.get());
  EXPECT_TRUE(PyUnicode_CHECK_INTERNED(a.get()));
}

TEST(EnvironCacheTest, AnotherOrderNextTimeStillGivesTheRightKeys) {
  AttachScope scope(main_interp());
  EnvironCache keys;
  const std::vector<std::string> first = {"HTTP_HOST", "HTTP_ACCEPT", "PATH_INFO", "SCRIPT_NAME"};
  const std::vector<std::string> second = {"HTTP_X_EXTRA", "HTTP_HOST", "PATH_INFO", "HTTP_ACCEPT"};
  for (std::size_t i = 0; i < first.size(); ++i)
    EXPECT_EQ(text_of(keys.key(first[i], i)), first[i]);
  for (std::size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ(text_of(keys.key(second[i], i)), second[i]);
  }
  // A key built in a reused buffer (as header names are) is never mistaken for the last one.
  std::string buffer = "HTTP_A";
  EXPECT_EQ(text_of(keys.key(buffer, 300)), "HTTP_A");
  buffer = "HTTP_B";
  EXPECT_EQ(text_of(keys.key(buffer, 0)), "HTTP_B");
  EXPECT_EQ(text_of(keys.key(std::string_view(buffer).substr(0, 5), 0)), "HTTP_");
}

TEST(EnvironCacheTest, ClientChosenNamesCannotGrowItWithoutBound) {
  AttachScope scope(main_interp());
  EnvironCache keys;
  for (std::size_t i = 0; i < EnvironCache::kMaxKept + 100; ++i) {
    std::string name = "HTTP_X_" + std::to_string(i);
    ASSERT_EQ(text_of(keys.key(name, i % 50)), name);
  }
  EXPECT_EQ(keys.kept(), EnvironCache::kMaxKept);
  EnvironCache fresh;
  std::string long_name(EnvironCache::kMaxKeptKey + 1, 'X');
  EXPECT_EQ(text_of(fresh.key(long_name, 0)), long_name);
  EXPECT_EQ(text_of(fresh.key(long_name, 0)), long_name);
  EXPECT_EQ(fresh.kept(), 0u);
  std::string late = "HTTP_X_" + std::to_string(EnvironCache::kMaxKept + 5);
  EXPECT_EQ(text_of(keys.key(late, 3)), late);
  EXPECT_EQ(text_of(keys.key("HTTP_X_0", 3)), "HTTP_X_0");
}

std::string repr_of(const Ref& value) {
  if (!value) return "<null>";
  Ref r = Ref::steal(PyObject_Repr(value.get()));
  return PyUnicode_AsUTF8(r.get());
}

TEST(EnvironCacheTest, ValuesAreReusedOnlyWhenTheyDecodeToTheSameString) {
  AttachScope scope(main_interp());
  EnvironCache cache;
  Ref a = cache.value("GET", false, 3);
  Ref b = cache.value("GET", false, 3);
  EXPECT_EQ(a.get(), b.get());  // same text, same position: the same object
  Ref c = cache.value("POST", false, 3);
  EXPECT_EQ(repr_of(c), "'POST'");
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(repr_of(cache.value("POS", false, 3)), "'POS'");  // a prefix is not the same text
  // Latin-1 bytes are code points; the filesystem decoding escapes invalid UTF-8 instead.
  EXPECT_EQ(repr_of(cache.value("caf\xe9", false, 4)), "'café'");
  EXPECT_EQ(repr_of(cache.value("caf\xe9", true, 4)), "'caf\\udce9'");
  EXPECT_EQ(repr_of(cache.value("caf\xe9", false, 4)), "'café'");
  EXPECT_EQ(repr_of(cache.value("caf\xc3\xa9", true, 5)), "'café'");
  EXPECT_EQ(repr_of(cache.value("caf\xe9", false, 5)), "'café'");
  EXPECT_EQ(repr_of(cache.value("caf\xc3\xa9", false, 5)), "'cafÃ©'");
  EXPECT_EQ(repr_of(cache.value("/srv/app.wsgi", true, 6)), "'/srv/app.wsgi'");
  EXPECT_EQ(repr_of(cache.value("/srv/app.wsgi", false, 6)), "'/srv/app.wsgi'");
  // Positions past the table and long values still come out right.
  EXPECT_EQ(repr_of(cache.value("x", false, 100000)), "'x'");
  std::string big(EnvironCache::kMaxReusedValue + 1, 'v');
  Ref big1 = cache.value(big, false, 7);
  Ref big2 = cache.value(big, false, 7);
  EXPECT_NE(big1.get(), big2.get());
  EXPECT_EQ(PyUnicode_GET_LENGTH(big2.get()), static_cast<Py_ssize_t>(big.size()));
  EXPECT_EQ(repr_of(cache.value("", false, 8)), "''");
  EXPECT_EQ(repr_of(cache.value("", false, 8)), "''");
}

TEST_F(AdapterTest, EnvironIsRightWhenTheKeysComeInAnotherOrder) {
  const char* app = R"(
seen = {}
def application(environ, start_response):
    seen.clear()
    seen.update(environ)
    start_response("200 OK", [])
    return []
)";
  FakeExchange first;
  first.env.emplace_back("HTTP_A", "1");
  first.env.emplace_back("HTTP_B", "2");
  run(app, first);
  EXPECT_EQ(eval("(seen['HTTP_A'], seen['HTTP_B'], seen['PATH_INFO'])"), "('1', '2', '/x')");
  FakeExchange second;
  second.env.insert(second.env.begin(), {"HTTP_C", "3"});
  second.env.emplace_back("HTTP_B", "4");
  run(app, second);
  EXPECT_EQ(eval("(seen['HTTP_C'], seen['HTTP_B'], 'HTTP_A' in seen, seen['PATH_INFO'])"),
            "('3', '4', False, '/x')");
  EXPECT_EQ(eval("seen['wsgi.version']"), "(1, 0)");
}

TEST_F(AdapterTest, HelloListIsQueuedAndFinished) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-A", "1")])
    return [b"Hello ", b"world"]
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.status, 200);
  EXPECT_EQ(ex.status_line, "200 OK");
  ASSERT_EQ(ex.headers.size(), 2u);
  EXPECT_EQ(ex.headers[1].name, "X-A");
  EXPECT_EQ(ex.body, "Hello world");
  EXPECT_EQ(ex.flushes, 0);  // a list goes out in one piece at finish()
  EXPECT_TRUE(ex.finished);
  EXPECT_FALSE(ex.aborted);
}

TEST_F(AdapterTest, EnvironHasWsgiKeysAndLatin1Strings) {
  FakeExchange ex;
  ex.env.emplace_back("HTTP_X_NAME", "caf\xe9");
  RequestTraits traits;
  traits.https = true;
  traits.multithread = true;
  run(R"(
seen = {}
def application(environ, start_response):
    seen.update(environ)
    start_response("200 OK", [])
    return []
)",
      ex, traits);
  EXPECT_EQ(eval("seen['HTTP_X_NAME'] == 'caf\\xe9'"), "True");
  EXPECT_EQ(eval("seen['wsgi.version']"), "(1, 0)");
  EXPECT_EQ(eval("seen['wsgi.url_scheme']"), "https");
  EXPECT_EQ(eval("seen['wsgi.multithread']"), "True");
  EXPECT_EQ(eval("seen['wsgi.run_once']"), "False");
  EXPECT_EQ(eval("seen['wsgi.input_terminated']"), "True");
  EXPECT_EQ(eval("all(type(k) is str for k in seen)"), "True");
  EXPECT_EQ(eval("all(type(v) is str for k, v in seen.items() if k.isupper())"), "True");
  EXPECT_TRUE(ex.finished);
}

TEST_F(AdapterTest, GeneratorBlocksAreFlushedAndCloseIsCalled) {
  FakeExchange ex;
  Outcome out = run(R"(
closed = []
class Body:
    def __iter__(self):
        yield b"a"
        yield b""
        yield b"b"
    def close(self):
        closed.append(1)
def application(environ, start_response):
    start_response("200 OK", [])
    return Body()
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.body, "ab");
  EXPECT_EQ(ex.flushes, 2);
  EXPECT_EQ(eval("closed"), "[1]");
}

TEST_F(AdapterTest, BlockCompletingContentLengthEndsTheResponseAtOnce) {
  FakeExchange ex;
  Outcome out = run(R"(
closed = []
class Body:
    def __init__(self, errors):
        self.errors = errors
    def __iter__(self):
        yield b"ab"
        yield b"cd"
        self.errors.write("after the last block\n")  # e.g. slow clean-up in a generator
        yield b""
    def close(self):
        closed.append(1)
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "4")])
    return Body(environ["wsgi.errors"])
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.body, "abcd");
  EXPECT_EQ(ex.flushes, 1);  // "ab" streams at once; "cd" is the rest and goes with finish()
  EXPECT_TRUE(ex.finished);
  // The client had the whole response before the iterable went on.
  ASSERT_EQ(ex.events.size(), 2U);
  EXPECT_EQ(ex.events[0], "finish");
  EXPECT_EQ(ex.events[1], "log MP2110");
  EXPECT_EQ(eval("closed"), "[1]");
}

TEST_F(AdapterTest, ExceptionAfterTheCompletingBlockClosesTheConnection) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "5")])
    yield b"whole"
    raise RuntimeError("late")
)",
                    ex);
  EXPECT_EQ(out, Outcome::kTruncated);
  EXPECT_EQ(ex.body, "whole");
  EXPECT_TRUE(ex.finished);
  EXPECT_FALSE(ex.aborted);  // nothing left to cut: the response was complete
  EXPECT_TRUE(ex.closed_after_response);
  EXPECT_TRUE(ex.logged("RuntimeError: late"));
}

TEST_F(AdapterTest, BlocksPastTheCompletedContentLengthAreCut) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    yield b"ab"
    yield b"cd"
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.body, "ab");
  EXPECT_TRUE(ex.logged("MP2104"));
  EXPECT_EQ(std::count(ex.events.begin(), ex.events.end(), "finish"), 1);
}

TEST_F(AdapterTest, WriteCallableSendsAtOnce) {
  FakeExchange ex;
  run(R"(
def application(environ, start_response):
    write = start_response("200 OK", [])
    write(b"first,")
    return [b"second"]
)",
      ex);
  EXPECT_EQ(ex.body, "first,second");
  EXPECT_GE(ex.flushes, 1);
}

TEST_F(AdapterTest, ExceptionBeforeStartIsA500WithTraceback) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    raise ValueError("boom")
)",
                    ex);
  EXPECT_EQ(out, Outcome::kFailedBeforeResponse);
  EXPECT_EQ(ex.starts, 0);
  EXPECT_TRUE(ex.logged("ValueError: boom"));
}

TEST_F(AdapterTest, ExceptionAfterBodyStartedTruncates) {
  FakeExchange ex;
  Outcome out = run(R"(
closed = []
class Body:
    def __iter__(self):
        yield b"partial"
        raise RuntimeError("midway")
    def close(self):
        closed.append(1)
def application(environ, start_response):
    start_response("200 OK", [])
    return Body()
)",
                    ex);
  EXPECT_EQ(out, Outcome::kTruncated);
  EXPECT_TRUE(ex.aborted);
  EXPECT_FALSE(ex.finished);
  EXPECT_EQ(ex.body, "partial");
  EXPECT_EQ(eval("closed"), "[1]");
  EXPECT_TRUE(ex.logged("RuntimeError: midway"));
}

TEST_F(AdapterTest, NonIterableAndStrBlocksFailCleanly) {
  FakeExchange ex1;
  EXPECT_EQ(run(R"(
def application(environ, start_response):
    start_response("200 OK", [])
    return 42
)",
                ex1),
            Outcome::kFailedBeforeResponse);
  EXPECT_EQ(ex1.starts, 0);
  FakeExchange ex2;
  EXPECT_EQ(run(R"(
def application(environ, start_response):
    start_response("200 OK", [])
    return [b"ok", "text"]
)",
                ex2),
            Outcome::kFailedBeforeResponse);
  EXPECT_EQ(ex2.starts, 0);  // checked before anything was committed
  EXPECT_TRUE(ex2.logged("TypeError"));
}

TEST_F(AdapterTest, SecondStartResponseReplacesBeforeBody) {
  FakeExchange ex;
  run(R"(
def application(environ, start_response):
    start_response("200 OK", [("X-First", "1")])
    start_response("404 Not Found", [("X-Second", "1")])
    return [b"x"]
)",
      ex);
  EXPECT_EQ(ex.status, 404);
  ASSERT_EQ(ex.headers.size(), 1u);
  EXPECT_EQ(ex.headers[0].name, "X-Second");
}

TEST_F(AdapterTest, ExcInfoAfterHeadersSentReraises) {
  FakeExchange ex;
  Outcome out = run(R"(
import sys
def application(environ, start_response):
    write = start_response("200 OK", [])
    write(b"started")
    try:
        raise KeyError("late")
    except KeyError:
        start_response("500 Oops", [], sys.exc_info())
    return [b"never"]
)",
                    ex);
  EXPECT_EQ(out, Outcome::kTruncated);
  EXPECT_TRUE(ex.aborted);
  EXPECT_EQ(ex.body, "started");
  EXPECT_TRUE(ex.logged("KeyError"));
}

TEST_F(AdapterTest, ExcInfoBeforeHeadersReplacesResponse) {
  FakeExchange ex;
  run(R"(
import sys
def application(environ, start_response):
    start_response("200 OK", [])
    try:
        raise KeyError("x")
    except KeyError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return [b"error page"]
)",
      ex);
  EXPECT_EQ(ex.status, 500);
  EXPECT_EQ(ex.body, "error page");
}

TEST_F(AdapterTest, BadHeadersAreRefused) {
  const char* apps[] = {
      "def application(e, sr):\n    sr('200 OK', [('X-A', 'a\\r\\nSet-Cookie: x')])\n    "
      "return []\n",
      "def application(e, sr):\n    sr('200 OK', [('X-A', 'snow \\u2603')])\n    return []\n",
      "def application(e, sr):\n    sr('200 OK', [('Bad Name', 'v')])\n    return []\n",
      "def application(e, sr):\n    sr('200 OK', [('X-A', 'a\\x00b')])\n    return []\n",
      "def application(e, sr):\n    sr('200 OK', (('X-A', 'v'),))\n    return []\n",
      "def application(e, sr):\n    sr('OK', [])\n    return []\n",
      "def application(e, sr):\n    sr('200 OK', [('Content-Length', 'ten')])\n    return []\n",
  };
  for (const char* app : apps) {
    FakeExchange ex;
    EXPECT_EQ(run(app, ex), Outcome::kFailedBeforeResponse) << app;
    EXPECT_EQ(ex.starts, 0) << app;
  }
}

TEST_F(AdapterTest, HopByHopHeadersAreDroppedAndLogged) {
  FakeExchange ex;
  run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Connection", "close"), ("X-Kept", "1")])
    return [b""]
)",
      ex);
  ASSERT_EQ(ex.headers.size(), 1u);
  EXPECT_EQ(ex.headers[0].name, "X-Kept");
  EXPECT_TRUE(ex.logged("MP2103"));
}

TEST_F(AdapterTest, ContentLengthTooSmallCutsOutput) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "3")])
    return [b"abcdef"]
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.body, "abc");
  EXPECT_TRUE(ex.logged("MP2104"));
}

TEST_F(AdapterTest, ContentLengthTooLargeTruncates) {
  FakeExchange ex;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "10")])
    return [b"short"]
)",
                    ex);
  EXPECT_EQ(out, Outcome::kTruncated);
  EXPECT_TRUE(ex.aborted);
  EXPECT_FALSE(ex.finished);
  EXPECT_TRUE(ex.logged("MP2105"));
}

TEST_F(AdapterTest, HeadDoesNotCheckBodyLength) {
  FakeExchange ex;
  RequestTraits traits;
  traits.head = true;
  traits.header_only = true;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "100")])
    return []
)",
                    ex, traits);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_TRUE(ex.finished);
}

// The application's Content-Length stands for a HEAD response: no body data goes out for
// httpd to measure instead, however much the application returned.
TEST_F(AdapterTest, HeadWithContentLengthSendsNoBody) {
  FakeExchange ex;
  RequestTraits traits;
  traits.head = true;
  traits.header_only = true;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "10")])
    return [b"abc"]
)",
                    ex, traits);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_TRUE(ex.finished);
  EXPECT_EQ(ex.body, "");
  EXPECT_FALSE(ex.logged("MP2105"));
}

// HEAD mapped to GET: the body goes on to httpd's filters (which drop it), but a length that
// does not match is not an error, since nothing reaches the client.
TEST_F(AdapterTest, HeadMappedToGetDoesNotCheckBodyLength) {
  FakeExchange ex;
  RequestTraits traits;
  traits.header_only = true;
  Outcome out = run(R"(
def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "3")])
    return [b"abc", b"defgh"]
)",
                    ex, traits);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_TRUE(ex.finished);
  EXPECT_FALSE(ex.aborted);
  EXPECT_EQ(ex.body, "abcdefgh");
  EXPECT_FALSE(ex.logged("MP2104"));
}

TEST_F(AdapterTest, InputStreamMethods) {
  FakeExchange ex;
  ex.input = "line one\nline two\nthird\n" + std::string(100000, 'x');
  ex.read_chunk = 3;  // the body arrives in small pieces, as a chunked upload may
  run(R"(
out = {}
def application(environ, start_response):
    i = environ["wsgi.input"]
    out["zero"] = i.read(0)
    out["l1"] = i.readline()
    out["part"] = i.readline(4)
    out["rest2"] = i.readline()
    out["lines"] = i.readlines(1)
    out["n"] = len(i.read(50))
    out["all"] = len(i.read())
    out["eof"] = i.read()
    out["eof2"] = i.readline()
    start_response("200 OK", [])
    return []
)",
      ex);
  EXPECT_EQ(eval("out['zero']"), "b''");
  EXPECT_EQ(eval("out['l1']"), "b'line one\\n'");
  EXPECT_EQ(eval("out['part']"), "b'line'");
  EXPECT_EQ(eval("out['rest2']"), "b' two\\n'");
  EXPECT_EQ(eval("out['lines']"), "[b'third\\n']");
  EXPECT_EQ(eval("out['n']"), "50");
  EXPECT_EQ(eval("out['all']"), "99950");
  EXPECT_EQ(eval("out['eof']"), "b''");
  EXPECT_EQ(eval("out['eof2']"), "b''");
}

TEST_F(AdapterTest, InputIterationAndErrors) {
  FakeExchange ex;
  ex.input = "a\nb\nc";
  run(R"(
out = {}
def application(environ, start_response):
    out["lines"] = list(environ["wsgi.input"])
    start_response("200 OK", [])
    return []
)",
      ex);
  EXPECT_EQ(eval("out['lines']"), "[b'a\\n', b'b\\n', b'c']");

  FakeExchange bad;
  bad.read_error = true;
  run(R"(
out = {}
def application(environ, start_response):
    for attempt in range(2):
        try:
            environ["wsgi.input"].read(10)
        except OSError as e:
            out[attempt] = str(e)
    start_response("200 OK", [])
    return []
)",
      bad);
  EXPECT_EQ(eval("'request data read error' in out[0] and out[0] == out[1]"), "True");
}

// An application that lets the OSError of an unreadable request body escape before responding
// gets the exchange's status (the client's fault), without a traceback; otherwise 500 as usual.
TEST_F(AdapterTest, UnreadableRequestBodyIsTheClientsFault) {
  const char* reads_body = R"(
def application(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [b"never"]
)";
  FakeExchange bad;
  bad.read_error = true;
  bad.body_status = 400;
  EXPECT_EQ(run(reads_body, bad), Outcome::kBadRequestBody);
  EXPECT_FALSE(bad.logged("MP2100"));
  EXPECT_EQ(bad.starts, 0);

  FakeExchange unknown;  // the exchange cannot tell: a failed application, as before
  unknown.read_error = true;
  EXPECT_EQ(run(reads_body, unknown), Outcome::kFailedBeforeResponse);
  EXPECT_TRUE(unknown.logged("MP2100"));

  FakeExchange handled;  // the application answers the failure itself
  handled.read_error = true;
  handled.body_status = 408;
  EXPECT_EQ(run(R"(
def application(environ, start_response):
    try:
        environ["wsgi.input"].read()
    except OSError:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"bad body"]
)",
                handled),
            Outcome::kCompleted);
  EXPECT_EQ(handled.status, 400);

  FakeExchange other;  // a different exception after the failed read is still the app's bug
  other.read_error = true;
  other.body_status = 400;
  EXPECT_EQ(run(R"(
def application(environ, start_response):
    try:
        environ["wsgi.input"].read()
    except OSError:
        pass
    raise KeyError("bug")
)",
                other),
            Outcome::kFailedBeforeResponse);
  EXPECT_TRUE(other.logged("KeyError"));
}

TEST_F(AdapterTest, FileWrapperUsesSendFileForRegularFiles) {
  char path[] = "/tmp/wsgi_fw_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "0123456789", 10), 10);
  ::close(fd);
  FakeExchange ex;
  std::string source = std::string(R"(
def application(environ, start_response):
    f = open(")") + path +
                       R"(", "rb")
    f.seek(2)
    start_response("200 OK", [])
    return environ["wsgi.file_wrapper"](f, 4)
)";
  EXPECT_EQ(run(source.c_str(), ex), Outcome::kCompleted);
  EXPECT_EQ(ex.files_sent, 1);
  EXPECT_EQ(ex.body, "23456789");

  FakeExchange ex2;  // not a real file: iterated in blksize pieces
  run(R"(
import io
def application(environ, start_response):
    start_response("200 OK", [])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"abcdefgh"), 3)
)",
      ex2);
  EXPECT_EQ(ex2.files_sent, 0);
  EXPECT_EQ(ex2.body, "abcdefgh");
  EXPECT_EQ(ex2.flushes, 3);
  unlink(path);
}

TEST_F(AdapterTest, ObjectsRefuseUseAfterTheRequest) {
  FakeExchange ex;
  run(R"(
kept = {}
def application(environ, start_response):
    kept["sr"] = start_response
    kept["input"] = environ["wsgi.input"]
    kept["write"] = start_response("200 OK", [])
    return []
)",
      ex);
  exec(R"(
errors = []
for call in (lambda: kept["sr"]("200 OK", []), lambda: kept["input"].read(),
             lambda: kept["write"](b"x")):
    try:
        call()
    except RuntimeError as e:
        errors.append(str(e))
)");
  EXPECT_EQ(eval("len(errors)"), "3");
}

TEST_F(AdapterTest, ErrorsStreamLogsLines) {
  FakeExchange ex;
  run(R"(
def application(environ, start_response):
    err = environ["wsgi.errors"]
    err.write("first line\nsecond ")
    err.writelines(["part\n", "unterminated"])
    start_response("200 OK", [])
    return []
)",
      ex);
  EXPECT_TRUE(ex.logged("MP2110 first line"));
  EXPECT_TRUE(ex.logged("MP2110 second part"));
  EXPECT_TRUE(ex.logged("MP2110 unterminated"));  // flushed when the request ends
}

// Libraries probe a stream's text attributes (rich, click, tqdm); write() returns a count.
TEST_F(AdapterTest, ErrorsStreamLooksLikeATextStream) {
  FakeExchange ex;
  run(R"(
import io
seen = {}
def application(environ, start_response):
    err = environ["wsgi.errors"]
    seen["count"] = err.write("héllo\n")
    seen["attrs"] = (err.encoding, err.name, err.closed, err.line_buffering, err.seekable(),
                     err.writable(), err.readable(), err.isatty())
    try:
        err.fileno()
    except io.UnsupportedOperation:
        seen["fileno"] = "unsupported"
    start_response("200 OK", [])
    return []
)",
      ex);
  EXPECT_EQ(eval("seen['count']"), "6");
  EXPECT_EQ(eval("seen['attrs']"),
            "('utf-8', '<wsgi.errors>', False, True, False, True, False, False)");
  EXPECT_EQ(eval("seen['fileno']"), "unsupported");
  EXPECT_TRUE(ex.logged("MP2110 héllo"));
}

TEST_F(AdapterTest, ClientGoneStopsIterationAndCloses) {
  FakeExchange ex;
  ex.client_gone_after = 5;
  Outcome out = run(R"(
state = {"blocks": 0, "closed": False}
class Body:
    def __iter__(self):
        while True:
            state["blocks"] += 1
            yield b"xxx"
    def close(self):
        state["closed"] = True
def application(environ, start_response):
    start_response("200 OK", [])
    return Body()
)",
                    ex);
  EXPECT_EQ(out, Outcome::kClientGone);
  EXPECT_EQ(eval("state['closed']"), "True");
  EXPECT_EQ(eval("state['blocks']"), "2");
}

TEST_F(AdapterTest, CloseOfAListSubclassIsCalled) {
  FakeExchange ex;
  Outcome out = run(R"(
state = {"closed": False}
class Body(list):
    def close(self):
        state["closed"] = True
def application(environ, start_response):
    start_response("200 OK", [])
    return Body([b"a", b"b"])
)",
                    ex);
  EXPECT_EQ(out, Outcome::kCompleted);
  EXPECT_EQ(ex.body, "ab");
  EXPECT_EQ(eval("state['closed']"), "True");
}

TEST_F(AdapterTest, NoStartResponseIsAnError) {
  FakeExchange ex;
  EXPECT_EQ(run("def application(e, sr):\n    return []\n", ex), Outcome::kFailedBeforeResponse);
  EXPECT_TRUE(ex.logged("MP2101"));
  FakeExchange ex2;
  EXPECT_EQ(run("def application(e, sr):\n    return [b'body']\n", ex2),
            Outcome::kFailedBeforeResponse);
  EXPECT_EQ(ex2.starts, 0);
}

}  // namespace
}  // namespace mp::wsgi

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string error;
  if (!mp::cpython::start_python({}, &error)) {
    std::fprintf(stderr, "cannot start Python: %s\n", error.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
