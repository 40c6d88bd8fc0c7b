// Global mutex set: creation in the parent, child attachment, key -> index mapping.
#include "apache/global_locks.h"

#include <apr_global_mutex.h>
#include <unistd.h>
#include <unixd.h>
#include <util_mutex.h>

#include <cstdint>
#include <string>

#include "apache/log.h"
#include "apache/module_config.h"

namespace mp::apache {
namespace {

constexpr const char* kMutexType = "mod_python";
constexpr int kDefaultLocks = 8;
constexpr int kMaxLocks = 1024;

// The set in use: made in the parent's process pool and kept across restarts. During a
// graceful restart the old generation's children still serve requests; their locks must keep
// working and keep excluding the new generation's children (a set per generation, in pconf,
// was destroyed under them: their session locks failed and FileSession updates were lost).
// httpd unloads and reloads this module on every restart, so the set is found again through
// the process pool's user data, not through a static.
struct LockSet {
  apr_global_mutex_t** locks;
  const char** files;
  int count;
  int wanted;             // what it was made for: another count or
  const char* directory;  // directory makes a new set
};

constexpr const char* kLockSetKey = "mod_python.global_locks";

// Set in the parent before fork and inherited by children.
const LockSet* g_set = nullptr;

LockSet* existing_set(apr_pool_t* process_pool) {
  void* data = nullptr;
  apr_pool_userdata_get(&data, kLockSetKey, process_pool);
  return static_cast<LockSet*>(data);
}

int configured_count(const server_rec* s) {
  const ModuleConfig* cfg = server_config(s);
  const char* value =
      cfg != nullptr ? apr_table_get(cfg->options, "mod_python.mutex_locks") : nullptr;
  if (value == nullptr || value[0] == '\0') return kDefaultLocks;
  long n = std::strtol(value, nullptr, 10);
  return n < 1 ? 1 : (n > kMaxLocks ? kMaxLocks : static_cast<int>(n));
}

}  // namespace

void register_global_lock_type(apr_pool_t* pconf) noexcept {
  ap_mutex_register(pconf, kMutexType, nullptr, APR_LOCK_DEFAULT, 0);
}

bool create_global_locks(apr_pool_t* /*pconf*/, server_rec* s, int log_level) noexcept {
  apr_pool_t* pool = s->process->pool;
  int max_procs = 0;
  int max_threads = 0;
  ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &max_procs);
  ap_mpm_query(AP_MPMQ_MAX_THREADS, &max_threads);
  if (max_threads < 1) max_threads = 1;
  if (max_procs < 1) max_procs = 1;
  long simultaneous = static_cast<long>(max_procs) * max_threads;
  int wanted = configured_count(s);
  if (wanted > simultaneous) wanted = static_cast<int>(simultaneous);
  if (wanted < 2) wanted = 2;  // index 0 is reserved for dbm files
  const ModuleConfig* cfg = server_config(s);
  const char* dir =
      cfg != nullptr ? apr_table_get(cfg->options, "mod_python.mutex_directory") : nullptr;
  if (dir == nullptr) dir = "";
  if (LockSet* previous = existing_set(pool); previous != nullptr) {
    if (previous->wanted == wanted && std::string_view(dir) == previous->directory) {
      g_set = previous;
      return true;
    }
    log_server(APLOG_NOTICE, 0, s, {},
               "mod_python: the session mutex settings changed; children of the previous "
               "generation keep the old set until they exit");
  }
  std::string line = "mod_python: Creating " + std::to_string(wanted) +
                     " session mutexes based on " + std::to_string(max_procs) +
                     " max processes and " + std::to_string(max_threads) + " max threads.";
  log_server(log_level, 0, s, {}, line);
  auto* set = static_cast<LockSet*>(apr_pcalloc(pool, sizeof(LockSet)));
  set->locks = static_cast<apr_global_mutex_t**>(
      apr_pcalloc(pool, sizeof(void*) * static_cast<apr_size_t>(wanted)));
  set->files =
      static_cast<const char**>(apr_pcalloc(pool, sizeof(char*) * static_cast<apr_size_t>(wanted)));
  set->wanted = wanted;
  set->directory = apr_pstrdup(pool, dir);
  for (int i = 0; i < wanted; ++i) {
    const char* instance = apr_psprintf(pool, "%d", i);
    const char* file = nullptr;
    apr_status_t rv = APR_SUCCESS;
    if (dir[0] != '\0') {
      // PythonOption mod_python.mutex_directory: lock files there (spec §7).
      file = apr_psprintf(pool, "%s/mp_mutex_%" APR_PID_T_FMT "_%d", dir, getpid(), i);
      rv = apr_global_mutex_create(&set->locks[i], file, APR_LOCK_DEFAULT, pool);
      if (rv == APR_SUCCESS) rv = ap_unixd_set_global_mutex_perms(set->locks[i]);
    } else {
      // Otherwise httpd's Mutex machinery decides (mechanism, DefaultRuntimeDir).
      rv = ap_global_mutex_create(&set->locks[i], &file, kMutexType, instance, s, pool, 0);
    }
    if (rv != APR_SUCCESS) {
      if (i >= 2) {
        log_server(APLOG_WARNING, rv, s, "MP0160",
                   "could only create " + std::to_string(i) + " global mutexes; using those");
        break;
      }
      log_server(APLOG_CRIT, rv, s, "MP0160", "cannot create mod_python's global mutexes");
      g_set = nullptr;
      return false;
    }
    set->files[i] = file;
    set->count = i + 1;
  }
  apr_pool_userdata_set(set, kLockSetKey, apr_pool_cleanup_null, pool);
  g_set = set;
  return true;
}

void attach_global_locks(apr_pool_t* pchild, server_rec* s) noexcept {
  for (int i = 0; i < global_lock_count(); ++i) {
    apr_status_t rv = apr_global_mutex_child_init(&g_set->locks[i], g_set->files[i], pchild);
    if (rv != APR_SUCCESS) {
      log_server(APLOG_ERR, rv, s, "MP0160", "cannot attach global mutex " + std::to_string(i));
    }
  }
}

int global_lock_count() noexcept { return g_set != nullptr ? g_set->count : 0; }

apr_global_mutex_t* global_lock(int index) noexcept {
  return index >= 0 && index < global_lock_count() ? g_set->locks[index] : nullptr;
}

int global_lock_index(std::string_view key, int count) noexcept {
  if (count < 2) return 0;
  std::uint32_t hash = 2166136261u;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return 1 + static_cast<int>(hash % static_cast<std::uint32_t>(count - 1));
}

}  // namespace mp::apache
