// Session cache binding: PythonSessionCache parsing, provider lookup and instance creation at
// configuration time, init in the parent (post_config), mutexes for non-MP-safe providers.
#include "apache/socache_binding.h"

#include <ap_provider.h>
#include <apr_global_mutex.h>
#include <apr_network_io.h>
#include <unixd.h>
#include <util_mutex.h>

#include <strings.h>

#include <array>
#include <cstring>
#include <new>
#include <string>

#include "apache/log.h"
#include "common/deadline_gate.h"
#include "common/session_store_lifetime.h"

namespace mp::apache {
namespace {

constexpr const char* kMutexType = "mod_python-socache";
// The provider's namespace: memcache/redis prefix keys with "<cname>:"; redis allows at most
// 14 characters here.
constexpr const char* kCacheName = "mod_python";

// Per configuration generation, in pconf; written before children fork, read-only afterwards.
apr_array_header_t* g_caches = nullptr;  // SessionCache* in configuration order
apr_hash_t* g_configured = nullptr;      // server_rec* -> SessionCache* or &g_none
apr_hash_t* g_resolved = nullptr;        // server_rec* -> SessionCache* (post_config)
SessionCache g_none{};                   // marker for "PythonSessionCache none"

bool is_shmcb(const char* name) {
  return strcasecmp(name, "shmcb") == 0 || strcasecmp(name, "default") == 0;
}

bool is_local_provider(const char* name) { return is_shmcb(name) || strcasecmp(name, "dbm") == 0; }

// shmcb's own default, 512000 bytes, holds only about 500 saves: every save appends a record
// and the one it replaces stays until the ring comes round, and sessions are saved on every
// request. Without a size, the session cache gets 4 MB of anonymous shared memory (about 4000
// saves of 1 KB records); the path only matters where anonymous shared memory is missing.
constexpr long kDefaultShmcbBytes = 4L * 1024 * 1024;

const char* default_shmcb_args(apr_pool_t* pconf) {
  const char* path = ap_runtime_dir_relative(pconf, "mod_python-sessions");
  if (path == nullptr) return "";
  return apr_psprintf(pconf, "%s(%ld)", path, kDefaultShmcbBytes);
}

bool needs_servers(const char* name) {
  return strcasecmp(name, "memcache") == 0 || strcasecmp(name, "redis") == 0;
}

// memcache and redis parse "host[:port],host[:port]" only at init; check it now so a typo is
// a configuration error (also under -t) rather than a failed start.
const char* check_server_list(apr_pool_t* ptemp, const char* name, const char* args) {
  if (args == nullptr || args[0] == '\0') {
    return apr_psprintf(ptemp, "the %s session cache needs host[:port][,host[:port]...]", name);
  }
  char* copy = apr_pstrdup(ptemp, args);
  char* state = nullptr;
  for (char* item = apr_strtok(copy, ",", &state); item != nullptr;
       item = apr_strtok(nullptr, ",", &state)) {
    char* host = nullptr;
    char* scope = nullptr;
    apr_port_t port = 0;
    // apr takes "host:notaport" for a host name; only a bracketed IPv6 address has colons.
    bool bad = apr_parse_addr_port(&host, &scope, &port, item, ptemp) != APR_SUCCESS ||
               host == nullptr || (item[0] != '[' && std::strchr(host, ':') != nullptr);
    if (bad) {
      return apr_psprintf(ptemp, "'%s' is not a host[:port] for the %s session cache", item, name);
    }
  }
  return nullptr;
}

void remember(apr_pool_t* pconf, server_rec* s, SessionCache* cache) {
  if (g_configured == nullptr) reset_session_caches(pconf);
  auto* key = static_cast<server_rec**>(apr_palloc(pconf, sizeof(server_rec*)));
  *key = s;
  apr_hash_set(g_configured, key, sizeof(server_rec*), cache);
}

SessionCache* configured_for(const server_rec* s) {
  if (g_configured == nullptr) return nullptr;
  return static_cast<SessionCache*>(apr_hash_get(g_configured, &s, sizeof(server_rec*)));
}

std::string describe(const SessionCache& cache) {
  std::string text = cache.provider_name;
  if (cache.args[0] != '\0') text += std::string(":") + cache.args;
  return text;
}

apr_status_t destroy_cache(void* data) noexcept {
  auto* cache = static_cast<SessionCache*>(data);
  if (cache->ready && cache->provider->destroy != nullptr) {
    cache->provider->destroy(cache->instance, cache->server);
  }
  cache->ready = false;
  return APR_SUCCESS;
}

bool init_one(apr_pool_t* pconf, SessionCache& cache, int index) {
  if ((cache.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0) {
    const char* instance = apr_psprintf(pconf, "%d", index);
    apr_status_t rv = ap_global_mutex_create(&cache.mutex, &cache.mutex_file, kMutexType, instance,
                                             cache.server, pconf, 0);
    if (rv != APR_SUCCESS) {
      log_server(APLOG_CRIT, rv, cache.server, "MP0180",
                 "cannot create the mutex of session cache '" + describe(cache) + "'");
      return false;
    }
  }
  ap_socache_hints hints{};
  hints.avg_id_len = 16;      // SocacheSession ids are the 16 bytes of the sid
  hints.avg_obj_size = 1024;  // a signed, pickled session record
  hints.expiry_interval = apr_time_from_sec(60);
  apr_status_t rv = cache.provider->init(cache.instance, kCacheName, &hints, cache.server, pconf);
  if (rv != APR_SUCCESS) {
    log_server(APLOG_CRIT, rv, cache.server, "MP0180",
               "cannot initialise session cache '" + describe(cache) + "'");
    return false;
  }
  cache.ready = true;
  apr_pool_cleanup_register(pconf, &cache, destroy_cache, apr_pool_cleanup_null);
  rv = apr_generate_random_bytes(cache.local_key, sizeof(cache.local_key));
  if (rv != APR_SUCCESS) {
    log_server(APLOG_CRIT, rv, cache.server, "MP0180",
               "cannot generate the signing key of session cache '" + describe(cache) + "'");
    return false;
  }
  return true;
}

// Runs `op(pool)` under the cache mutex (when the provider needs one) with a private pool.
template <typename Op>
apr_status_t with_cache(SessionCache& cache, Op&& op) noexcept {
  if (!cache.ready) return APR_EINIT;
  apr_pool_t* pool = nullptr;
  apr_status_t rv = apr_pool_create_unmanaged_ex(&pool, nullptr, nullptr);
  if (rv != APR_SUCCESS) return rv;
  if (cache.mutex != nullptr) rv = apr_global_mutex_lock(cache.mutex);
  if (rv == APR_SUCCESS) {
    rv = op(pool);
    if (cache.mutex != nullptr) apr_global_mutex_unlock(cache.mutex);
  }
  apr_pool_destroy(pool);
  return rv;
}

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// A provider call, with kSharedStoreDeadline for shared stores. `op` owns what it uses: past
// the deadline it goes on running after this returns.
template <typename Op>
apr_status_t call_provider(SessionCache& cache, const char* what, Op&& op) noexcept {
  if (cache.gate == nullptr) return with_cache(cache, op);
  auto rv = std::make_shared<apr_status_t>(APR_EGENERAL);
  DeadlineGate::Outcome outcome = cache.gate->run(
      [&cache, rv, op = std::forward<Op>(op)]() mutable { *rv = with_cache(cache, op); },
      kSharedStoreDeadline);
  switch (outcome) {
    case DeadlineGate::Outcome::kFinished:
      return *rv;
    case DeadlineGate::Outcome::kTripped:
      log_server(APLOG_ERR, 0, cache.server, "MP0184",
                 "session cache '" + describe(cache) + "' did not answer a " + what + " within " +
                     std::to_string(kSharedStoreDeadline.count()) +
                     " ms; this process refuses its calls until the cache answers again");
      return APR_TIMEUP;
    case DeadlineGate::Outcome::kTimedOut:
      return APR_TIMEUP;
    case DeadlineGate::Outcome::kRefused:
      break;
  }
  return kSessionCacheRefused;
}

}  // namespace

void reset_session_caches(apr_pool_t* pconf) noexcept {
  g_caches = apr_array_make(pconf, 2, sizeof(void*));  // SessionCache* elements
  g_configured = apr_hash_make(pconf);
  g_resolved = nullptr;
  ap_mutex_register(pconf, kMutexType, nullptr, APR_LOCK_DEFAULT, 0);
}

const char* configure_session_cache(apr_pool_t* pconf, apr_pool_t* ptemp, server_rec* s,
                                    const char* spec) noexcept {
  if (strcasecmp(spec, "none") == 0) {
    remember(pconf, s, &g_none);
    return nullptr;
  }
  const char* colon = std::strchr(spec, ':');
  const char* name = colon != nullptr
                         ? apr_pstrmemdup(pconf, spec, static_cast<apr_size_t>(colon - spec))
                         : apr_pstrdup(pconf, spec);
  const char* args = colon != nullptr ? apr_pstrdup(pconf, colon + 1) : "";
  if (name[0] == '\0') return "PythonSessionCache: expected provider[:arguments] or none";
  const auto* provider = static_cast<const ap_socache_provider_t*>(
      ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION));
  if (provider == nullptr) {
    return apr_psprintf(ptemp,
                        "PythonSessionCache: unknown session cache provider '%s'; load it with "
                        "\"LoadModule socache_%s_module modules/mod_socache_%s.so\" (httpd ships "
                        "shmcb, memcache, redis and dbm)",
                        name, name, name);
  }
  if (needs_servers(name)) {
    if (const char* error = check_server_list(ptemp, name, args)) {
      return apr_pstrcat(ptemp, "PythonSessionCache: ", error, nullptr);
    }
  }
  auto* cache = static_cast<SessionCache*>(apr_pcalloc(pconf, sizeof(SessionCache)));
  cache->provider = provider;
  cache->provider_name = name;
  cache->args = args;
  cache->server = s;
  cache->shared = !is_local_provider(name);
  const char* create_args = args[0] == '\0' && is_shmcb(name) ? default_shmcb_args(pconf) : args;
  const char* error = provider->create(
      &cache->instance, create_args[0] != '\0' ? create_args : nullptr, ptemp, pconf);
  if (error != nullptr) {
    return apr_psprintf(ptemp, "PythonSessionCache: %s: %s", name, error);
  }
  if (g_caches == nullptr) reset_session_caches(pconf);
  // A repeated directive for the same server replaces the earlier cache, which is never
  // initialised.
  SessionCache* earlier = configured_for(s);
  auto** caches = reinterpret_cast<SessionCache**>(g_caches->elts);
  bool replaced = false;
  for (int i = 0; i < g_caches->nelts && earlier != nullptr; ++i) {
    if (caches[i] == earlier) {
      caches[i] = cache;
      replaced = true;
    }
  }
  if (!replaced) *static_cast<SessionCache**>(apr_array_push(g_caches)) = cache;
  remember(pconf, s, cache);
  return nullptr;
}

bool init_session_caches(apr_pool_t* pconf, server_rec* base) noexcept {
  g_resolved = apr_hash_make(pconf);
  if (g_caches == nullptr) return true;
  auto** caches = reinterpret_cast<SessionCache**>(g_caches->elts);
  for (int i = 0; i < g_caches->nelts; ++i) {
    if (!init_one(pconf, *caches[i], i)) return false;
  }
  SessionCache* main_cache = configured_for(base);
  for (server_rec* s = base; s != nullptr; s = s->next) {
    SessionCache* cache = configured_for(s);
    if (cache == nullptr) cache = main_cache;  // a vhost without the directive inherits
    if (cache == nullptr || cache == &g_none) continue;
    auto* key = static_cast<server_rec**>(apr_palloc(pconf, sizeof(server_rec*)));
    *key = s;
    apr_hash_set(g_resolved, key, sizeof(server_rec*), cache);
  }
  return true;
}

namespace {

apr_status_t delete_gate(void* data) noexcept {
  auto* cache = static_cast<SessionCache*>(data);
  delete cache->gate;  // NOLINT(cppcoreguidelines-owning-memory): owned by pchild's cleanup
  cache->gate = nullptr;
  return APR_SUCCESS;
}

// Late calls only hold the gate's shared counter, so the gate may go with pchild.
// The gate's probe: a read of a key no session uses (session ids are 16 bytes). Whatever the
// answer, an answer means the server is back.
void probe_store(SessionCache& cache) noexcept {
  static constexpr std::string_view kProbeId = "probe";
  (void)with_cache(cache, [&cache](apr_pool_t* pool) {
    std::array<unsigned char, 64> buffer{};
    auto length = static_cast<unsigned int>(buffer.size());
    return cache.provider->retrieve(cache.instance, cache.server, bytes_of(kProbeId),
                                    static_cast<unsigned int>(kProbeId.size()), buffer.data(),
                                    &length, pool);
  });
}

void attach_gate(apr_pool_t* pchild, SessionCache& cache) noexcept {
  try {
    // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): deleted by pchild's cleanup
    cache.gate = new DeadlineGate(kSharedStoreWorkers, [&cache] { probe_store(cache); });
  } catch (...) {
    cache.gate = nullptr;  // no memory: calls go without a deadline
    return;
  }
  apr_pool_cleanup_register(pchild, &cache, delete_gate, apr_pool_cleanup_null);
}

}  // namespace

void attach_session_caches(apr_pool_t* pchild, server_rec* base) noexcept {
  if (g_caches == nullptr) return;
  auto** caches = reinterpret_cast<SessionCache**>(g_caches->elts);
  for (int i = 0; i < g_caches->nelts; ++i) {
    SessionCache& cache = *caches[i];
    if (cache.shared && cache.mutex == nullptr) attach_gate(pchild, cache);
    if (cache.mutex == nullptr) continue;
    apr_status_t rv = apr_global_mutex_child_init(&cache.mutex, cache.mutex_file, pchild);
    if (rv != APR_SUCCESS) {
      // Unserialised calls could corrupt the shared memory: this child goes without.
      cache.ready = false;
      log_server(APLOG_ERR, rv, base, "MP0181",
                 "cannot attach the mutex of session cache '" + describe(cache) +
                     "'; SocacheSession is unavailable in this process");
    }
  }
}

SessionCache* session_cache_for(const server_rec* s) noexcept {
  if (g_resolved == nullptr || s == nullptr) return nullptr;
  return static_cast<SessionCache*>(apr_hash_get(g_resolved, &s, sizeof(server_rec*)));
}

apr_status_t session_cache_store(SessionCache& cache, std::string_view id, std::string_view data,
                                 long ttl_seconds) noexcept {
  if (data.size() > kSessionCacheMaxRecord) return APR_ENOSPC;
  apr_time_t expiry = apr_time_now() + session_store_lifetime_us(cache.provider_name, ttl_seconds);
  return call_provider(
      cache, "store",
      [&cache, id = std::string(id), data = std::string(data), expiry](apr_pool_t* pool) mutable {
        // Providers take non-const data but only copy it.
        auto* bytes = reinterpret_cast<unsigned char*>(data.data());
        return cache.provider->store(cache.instance, cache.server, bytes_of(id),
                                     static_cast<unsigned int>(id.size()), expiry, bytes,
                                     static_cast<unsigned int>(data.size()), pool);
      });
}

apr_status_t session_cache_retrieve(SessionCache& cache, std::string_view id,
                                    const std::shared_ptr<unsigned char[]>& buffer,
                                    std::size_t* size) noexcept {
  auto length = std::make_shared<unsigned int>(0);
  apr_status_t rv = call_provider(
      cache, "retrieve", [&cache, id = std::string(id), buffer, length](apr_pool_t* pool) {
        *length = static_cast<unsigned int>(kSessionCacheMaxRecord);
        return cache.provider->retrieve(cache.instance, cache.server, bytes_of(id),
                                        static_cast<unsigned int>(id.size()), buffer.get(),
                                        length.get(), pool);
      });
  if (rv == APR_SUCCESS) *size = *length;
  return rv;
}

apr_status_t session_cache_remove(SessionCache& cache, std::string_view id) noexcept {
  return call_provider(cache, "remove", [&cache, id = std::string(id)](apr_pool_t* pool) {
    return cache.provider->remove(cache.instance, cache.server, bytes_of(id),
                                  static_cast<unsigned int>(id.size()), pool);
  });
}

}  // namespace mp::apache
