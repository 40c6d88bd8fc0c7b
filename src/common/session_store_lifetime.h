// How long a socache provider is asked to keep a session record.
#pragma once

#include <cstdint>
#include <string_view>

namespace mp {

// memcached reads a relative expiry above 30 days as a Unix time (one already past), so
// mod_socache_memcache would store such a record as expired at once.
inline constexpr long long kMemcacheMaxRelativeSeconds = 30LL * 24 * 60 * 60;

// The providers convert their expiry to 32-bit seconds.
inline constexpr long long kProviderMaxSeconds = 0x7fffffffLL;

// Microseconds from now to the expiry handed to provider `provider` for a record that must
// live `ttl_seconds` (at least 1). httpd's redis and memcache providers turn the absolute
// expiry back into whole seconds from *their* now, rounding down, so a plain now + ttl comes
// out one second short (and a 1-second record as 0: refused). Almost a second is added to
// make up for that; the session record's own time stamps still decide when it expires.
// Clamped to what the provider can represent.
std::int64_t session_store_lifetime_us(std::string_view provider, long long ttl_seconds);

}  // namespace mp
