// Session caches over httpd's socache providers (shmcb, memcache, redis, dbm): configured by
// PythonSessionCache, created and initialised in the parent, used by SocacheSession.
#pragma once

#include <ap_socache.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "apache/apache.h"

namespace mp {
class DeadlineGate;
}

namespace mp::apache {

// Largest record a session cache stores (and the retrieve buffer size): memcached's default
// item limit. Larger records are refused before they reach the provider.
inline constexpr std::size_t kSessionCacheMaxRecord = std::size_t{1024} * 1024;
inline constexpr std::size_t kSessionCacheKeySize = 32;

// How long a request waits for a shared store (memcache, redis, ...). httpd's providers do
// not give up on a server that stops answering (in our tests RedisTimeout made no difference:
// apr_redis polled with a timeout of days), so each call runs with this deadline of our own.
inline constexpr std::chrono::milliseconds kSharedStoreDeadline{5000};
// Calls to a shared store running at once per process (overdue ones not counted).
inline constexpr int kSharedStoreWorkers = 8;

// A call not made: the store missed a deadline and has not answered a probe since.
inline constexpr apr_status_t kSessionCacheRefused = APR_OS_START_USERERR + 1;

// One configured cache. Lives in pconf; trivially destructible.
struct SessionCache {
  const ap_socache_provider_t* provider;
  ap_socache_instance_t* instance;
  const char* provider_name;
  const char* args;           // "" when none were given
  server_rec* server;         // where the directive was written (init and logging)
  apr_global_mutex_t* mutex;  // only for AP_SOCACHE_FLAG_NOTMPSAFE providers
  const char* mutex_file;
  bool shared;  // reachable from other hosts (anything but shmcb/dbm)
  bool ready;   // init succeeded in this generation
  // Shared stores only, made in child_init and kept for the child's life: the calls' deadline.
  DeadlineGate* gate;
  unsigned char local_key[kSessionCacheKeySize];  // random per generation, made in the parent
};

// pre_config: forgets the previous generation's caches, registers the mutex type.
void reset_session_caches(apr_pool_t* pconf) noexcept;

// PythonSessionCache "provider[:args]" or "none" for `s`: looks the provider up, creates the
// instance (which checks its arguments) and returns nullptr, or a configuration error.
const char* configure_session_cache(apr_pool_t* pconf, apr_pool_t* ptemp, server_rec* s,
                                    const char* spec) noexcept;

// post_config (parent): inits every cache and maps each server to its own or the main
// server's cache. Logs MP0180 and returns false when a cache cannot be set up.
bool init_session_caches(apr_pool_t* pconf, server_rec* base) noexcept;

// child_init: re-opens the mutexes of non-MP-safe providers.
void attach_session_caches(apr_pool_t* pchild, server_rec* base) noexcept;

// The cache serving `s`, or nullptr when none is configured.
SessionCache* session_cache_for(const server_rec* s) noexcept;

// Blocking provider calls (serialised by the cache mutex where needed). The caller must not
// hold the GIL. Ids and data are binary; `ttl_seconds` >= 1.
apr_status_t session_cache_store(SessionCache& cache, std::string_view id, std::string_view data,
                                 long ttl_seconds) noexcept;
// On success `*size` bytes were written to `buffer` (of kSessionCacheMaxRecord bytes; shared,
// since a call past its deadline may still write to it).
// Calls to a shared store that miss kSharedStoreDeadline fail with APR_TIMEUP (the first one
// logs MP0184); then the process's calls fail at once with kSessionCacheRefused until the
// gate's background probe gets an answer.
apr_status_t session_cache_retrieve(SessionCache& cache, std::string_view id,
                                    const std::shared_ptr<unsigned char[]>& buffer,
                                    std::size_t* size) noexcept;
apr_status_t session_cache_remove(SessionCache& cache, std::string_view id) noexcept;

}  // namespace mp::apache
