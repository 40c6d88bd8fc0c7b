// How long a socache provider is asked to keep a session record.
#include "common/session_store_lifetime.h"

#include <strings.h>
#include <algorithm>

namespace mp {

std::int64_t session_store_lifetime_us(std::string_view provider, long long ttl_seconds) {
  constexpr std::int64_t kUsPerSecond = 1000000;
  // Less than a second, so that a provider rounding down gets ttl back, not ttl + 1.
  constexpr std::int64_t kRoundingMarginUs = 990000;
  bool memcache = provider.size() == 8 && strncasecmp(provider.data(), "memcache", 8) == 0;
  // A margin of ~1 s on top must still stay within memcached's relative range.
  long long most = memcache ? kMemcacheMaxRelativeSeconds - 1 : kProviderMaxSeconds - 1;
  long long seconds = std::clamp(ttl_seconds, 1LL, most);
  return seconds * kUsPerSecond + kRoundingMarginUs;
}

}  // namespace mp
