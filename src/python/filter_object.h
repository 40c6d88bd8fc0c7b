// mp_filter: what a Python input/output filter function receives (spec §10.5). All bucket
// work happens here in C++; data written from Python is copied into heap buckets, so httpd
// never holds a pointer into Python memory.
#pragma once

#include <Python.h>

#include "apache/apache.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

struct FilterObject {
  PyObject_HEAD ap_filter_t* f;
  bool dead;
  bool is_input;
  bool closed;
  bool eos_seen;                 // EOS met while reading (the bucket stays in `in`)
  bool upstream_ended;           // input: the next filter delivered its EOS
  bool* disabled;                // lives in the filter's pool-allocated state
  apr_bucket_brigade* in;        // output: the brigade it was given; input: data fetched
  apr_bucket_brigade* out;       // what the filter wrote, not yet passed on / returned
  apr_bucket_brigade* consumed;  // data read since output last went on (replayed on error)
  apr_bucket_brigade* carry;     // output filter: an incomplete line kept for the next call
  ap_input_mode_t mode;
  apr_read_type_e block;
  apr_off_t readbytes;
  apr_status_t upstream_status;  // input: the last failed read of the next filter
  bool downstream_failed;        // output: passing data on failed (the client went away)
  int fetches;                   // input: reads of the next filter during this call
  PyObject* req;                 // request object (or None)
  PyObject* name;
  PyObject* handler;
  PyObject* dir;
  int softspace;
};

cpython::Ref make_filter(const cpython::Gil& gil, ModuleState* st, ap_filter_t* f, bool is_input,
                         bool* disabled, PyObject* req, const char* name, const char* handler,
                         const char* dir);

// Passes what an output filter wrote, then what it did not read, downstream.
apr_status_t flush_filter_output(FilterObject* filter) noexcept;

// Discards the data an input or output filter read and wrote during a call that raised, and
// puts back the input it read, so the stream goes on as if the filter were not there.
void undo_filter_call(FilterObject* filter) noexcept;

}  // namespace mp::python
