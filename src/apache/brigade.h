// Small named wrappers over APR's brigade macros (which expand to nested loops), so callers
// read as what they do.
#pragma once

#include "apache/apache.h"

namespace mp::apache {

inline bool brigade_empty(apr_bucket_brigade* bb) noexcept { return APR_BRIGADE_EMPTY(bb); }

inline void append_eos(apr_bucket_brigade* bb, apr_bucket_alloc_t* alloc) noexcept {
  APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(alloc));
}

// Moves all buckets of `from` to the front of `to`.
inline void move_to_front(apr_bucket_brigade* to, apr_bucket_brigade* from) noexcept {
  APR_BRIGADE_PREPEND(to, from);
}

// Moves all buckets of `from` to the end of `to`.
inline void move_to_end(apr_bucket_brigade* to, apr_bucket_brigade* from) noexcept {
  APR_BRIGADE_CONCAT(to, from);
}

}  // namespace mp::apache
