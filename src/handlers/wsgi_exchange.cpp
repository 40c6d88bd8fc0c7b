// ApacheExchange: environ straight from request_rec (spec mod_wsgi-compat §8), the request body
// through Apache's input filters, the response through its output filters.
#include "handlers/wsgi_exchange.h"

#include <apr_lib.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "apache/log.h"
#include "apache/request_body.h"
#include "apache/ssl_optional.h"
#include "common/wsgi_rules.h"

namespace mp::handlers {

// What the trusted forwarding headers of this request say.
struct ProxyView {
  bool active = false;                        // WSGITrustedProxyHeaders is set
  bool trusted = false;                       // the peer may set them
  const apr_array_header_t* names = nullptr;  // WSGITrustedProxyHeaders, lower case
  std::array<bool, 8> listed{};               // categories named in WSGITrustedProxyHeaders
  std::string client_ip, scheme, host, port, server, script;
  // The client-address header that set client_ip (lower case) and, for X-Forwarded-For, the
  // hops from that client on: what the application sees of them (mod_wsgi does the same).
  std::string client_ip_header, forwarded_for;
};

using wsgi::IoResult;
using Encoding = wsgi::EnvironSink::Encoding;

namespace {

// Forwarding headers by what they carry (spec §8.3). The scheme headers are one category
// whether they carry a scheme name or an on/off flag, as in mod_wsgi: trusting one of them
// removes every other, so a client cannot add a spoofed variant the application might read.
enum class ProxyCategory { kNone, kClientIp, kScheme, kHost, kPort, kServer, kScript };

ProxyCategory proxy_category(std::string_view lower) {
  struct Entry {
    std::string_view name;
    ProxyCategory category;
  };
  static constexpr std::array<Entry, 14> kHeaders = {{
      {"x-forwarded-for", ProxyCategory::kClientIp},
      {"x-client-ip", ProxyCategory::kClientIp},
      {"x-real-ip", ProxyCategory::kClientIp},
      {"x-forwarded-proto", ProxyCategory::kScheme},
      {"x-forwarded-scheme", ProxyCategory::kScheme},
      {"x-scheme", ProxyCategory::kScheme},
      {"x-forwarded-https", ProxyCategory::kScheme},
      {"x-forwarded-ssl", ProxyCategory::kScheme},
      {"x-https", ProxyCategory::kScheme},
      {"x-forwarded-host", ProxyCategory::kHost},
      {"x-host", ProxyCategory::kHost},
      {"x-forwarded-port", ProxyCategory::kPort},
      {"x-forwarded-server", ProxyCategory::kServer},
      {"x-script-name", ProxyCategory::kScript},
  }};
  if (lower == "x-forwarded-script-name") return ProxyCategory::kScript;
  for (const auto& e : kHeaders) {
    if (e.name == lower) return e.category;
  }
  return ProxyCategory::kNone;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(apr_tolower(c));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool address_in(const apr_array_header_t* subnets, const char* ip, apr_pool_t* pool) {
  if (subnets == nullptr || ip == nullptr) return false;
  apr_sockaddr_t* sa = nullptr;
  if (apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, 0, APR_IPV4_ADDR_OK, pool) != APR_SUCCESS) {
    return false;
  }
  const auto* nets = reinterpret_cast<apr_ipsubnet_t* const*>(subnets->elts);
  for (int i = 0; i < subnets->nelts; ++i) {
    if (apr_ipsubnet_test(nets[i], sa)) return true;
  }
  return false;
}

bool header_listed(const apr_array_header_t* listed, std::string_view lower_name) {
  const auto* names = reinterpret_cast<const char* const*>(listed->elts);
  for (int i = 0; i < listed->nelts; ++i) {
    if (lower_name == names[i]) return true;
  }
  return false;
}

// X-Forwarded-HTTPS, X-Forwarded-SSL, X-HTTPS carry on/off rather than a scheme name.
bool is_scheme_flag(std::string_view lower_name) {
  return lower_name == "x-forwarded-https" || lower_name == "x-forwarded-ssl" ||
         lower_name == "x-https";
}

// The client address from X-Forwarded-For: walking right to left, the first hop that is not
// a trusted proxy (without WSGITrustedProxies: the leftmost entry). `*from_client` is the list
// from that hop on: the entries left of it are whatever the client wrote.
std::string forwarded_client(const apache::WsgiConfig* cfg, std::string_view value,
                             apr_pool_t* pool, std::string* from_client) {
  std::vector<std::string> hops;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string hop = trim(value.substr(start, comma - start));
    if (!hop.empty()) hops.push_back(hop);
    start = comma + 1;
  }
  if (hops.empty()) return {};
  std::size_t client = 0;
  if (cfg->trusted_proxies != nullptr) {
    for (std::size_t i = hops.size(); i-- > 0;) {
      if (!address_in(cfg->trusted_proxies, hops[i].c_str(), pool)) {
        client = i;
        break;
      }
    }
  }
  from_client->clear();
  for (std::size_t i = client; i < hops.size(); ++i) {
    if (!from_client->empty()) *from_client += ", ";
    *from_client += hops[i];
  }
  return hops[client];
}

// What one trusted, listed forwarding header says (`name` in lower case).
void take_proxy_header(ProxyView& view, const apache::WsgiConfig* cfg, const std::string& name,
                       const std::string& value, apr_pool_t* pool) {
  switch (proxy_category(name)) {
    case ProxyCategory::kClientIp:
      view.client_ip = name == "x-forwarded-for"
                           ? forwarded_client(cfg, value, pool, &view.forwarded_for)
                           : value;
      view.client_ip_header = name;
      break;
    case ProxyCategory::kScheme: {
      std::string v = lower(value);
      if (is_scheme_flag(name)) v = (v == "on" || v == "1" || v == "true") ? "https" : "http";
      view.scheme = v;
      break;
    }
    case ProxyCategory::kHost:
      view.host = value;
      break;
    case ProxyCategory::kPort:
      view.port = value;
      break;
    case ProxyCategory::kServer:
      view.server = value;
      break;
    case ProxyCategory::kScript:
      view.script = wsgi_rules::collapse_slashes(value);
      while (!view.script.empty() && view.script.back() == '/') view.script.pop_back();
      break;
    case ProxyCategory::kNone:
      break;
  }
}

ProxyView proxy_view(request_rec* r, const apache::WsgiConfig* cfg) {
  ProxyView view;
  if (cfg == nullptr || cfg->trusted_proxy_headers == nullptr) return view;
  view.active = true;
  view.names = cfg->trusted_proxy_headers;
  const char* peer = r->connection->client_ip;
  view.trusted = cfg->trusted_proxies == nullptr || address_in(cfg->trusted_proxies, peer, r->pool);
  const auto* names = reinterpret_cast<const char* const*>(cfg->trusted_proxy_headers->elts);
  for (int i = 0; i < cfg->trusted_proxy_headers->nelts; ++i) {
    view.listed.at(static_cast<std::size_t>(proxy_category(names[i]))) = true;
  }
  if (!view.trusted) return view;
  const apr_array_header_t* arr = apr_table_elts(r->headers_in);
  const auto* elts = reinterpret_cast<const apr_table_entry_t*>(arr->elts);
  for (int i = 0; i < arr->nelts; ++i) {
    if (elts[i].key == nullptr || elts[i].val == nullptr) continue;
    std::string name = lower(elts[i].key);
    if (header_listed(view.names, name))
      take_proxy_header(view, cfg, name, trim(elts[i].val), r->pool);
  }
  return view;
}

const char* or_empty(const char* s) { return s != nullptr ? s : ""; }

std::string microseconds(apr_time_t t) { return std::to_string(static_cast<long long>(t)); }

}  // namespace

ApacheExchange::ApacheExchange(request_rec* r, const apache::WsgiConfig* cfg,
                               std::string script_name, std::string path_info, bool head_as_get,
                               const wsgi::RequestTraits& traits)
    : r_(r),
      cfg_(cfg),
      script_name_(std::move(script_name)),
      path_info_(std::move(path_info)),
      head_as_get_(head_as_get),
      traits_(traits),
      bb_(apr_brigade_create(r->pool, r->connection->bucket_alloc)) {}

namespace {

// subprocess_env first (SetEnv, mod_rewrite E=, mod_ssl, REDIRECT_*): the request's own
// variables added after it take precedence.
void add_subprocess_env(const request_rec* r, wsgi::EnvironSink& sink) {
  const apr_array_header_t* env = apr_table_elts(r->subprocess_env);
  const auto* env_elts = reinterpret_cast<const apr_table_entry_t*>(env->elts);
  for (int i = 0; i < env->nelts; ++i) {
    if (env_elts[i].key == nullptr || env_elts[i].val == nullptr) continue;
    // HTTPS becomes wsgi.url_scheme (see make_traits); like mod_wsgi, SetEnv cannot set the
    // scheme directly.
    if (std::strcmp(env_elts[i].key, "HTTPS") == 0 ||
        std::strcmp(env_elts[i].key, "wsgi.url_scheme") == 0) {
      continue;
    }
    sink.add(env_elts[i].key, env_elts[i].val);
  }
}

// What reaches the application of a request header when WSGITrustedProxyHeaders is set:
// null to drop it, else the value to pass (`value`, or a trimmed X-Forwarded-For).
const char* forwarding_header_value(const ProxyView& proxy, const char* name, const char* value) {
  std::string lname = lower(name);
  ProxyCategory category = proxy_category(lname);
  if (category == ProxyCategory::kNone || !proxy.listed.at(static_cast<std::size_t>(category))) {
    return value;  // not a category the configuration trusts: an ordinary header
  }
  // Only the listed header from a trusted peer reaches the application (as a record of what
  // set the variable); its other variants, and all of them from an untrusted peer, are dropped.
  if (!proxy.trusted || !header_listed(proxy.names, lname)) return nullptr;
  if (category != ProxyCategory::kClientIp) return value;
  // Of the client-address headers, only the one REMOTE_ADDR came from stays, and of
  // X-Forwarded-For only the hops from that client on: frameworks commonly read the leftmost
  // entry, which the client can write.
  if (lname != proxy.client_ip_header) return nullptr;
  return lname == "x-forwarded-for" ? proxy.forwarded_for.c_str() : value;
}

// Request headers as HTTP_* (CONTENT_TYPE/CONTENT_LENGTH without the prefix).
void add_request_headers(const request_rec* r, bool pass_auth, const ProxyView& proxy,
                         wsgi::EnvironSink& sink) {
  std::string key;
  const apr_array_header_t* hdrs = apr_table_elts(r->headers_in);
  const auto* elts = reinterpret_cast<const apr_table_entry_t*>(hdrs->elts);
  for (int i = 0; i < hdrs->nelts; ++i) {
    const char* name = elts[i].key;
    const char* value = elts[i].val;
    if (name == nullptr || value == nullptr) continue;
    if (strcasecmp(name, "Content-Type") == 0) {
      sink.add("CONTENT_TYPE", value);
      continue;
    }
    if (strcasecmp(name, "Content-Length") == 0) {
      sink.add("CONTENT_LENGTH", value);
      continue;
    }
    if (!pass_auth &&
        (strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Proxy-Authorization") == 0)) {
      continue;
    }
    if (proxy.active) value = forwarding_header_value(proxy, name, value);
    if (value == nullptr || !wsgi_rules::cgi_header_name(name, &key)) continue;
    sink.add(key, value);
  }
  if (!proxy.host.empty()) sink.add("HTTP_HOST", proxy.host);
}

}  // namespace

void ApacheExchange::add_cgi_variables(const ProxyView& proxy, wsgi::EnvironSink& sink) {
  request_rec* r = r_;
  conn_rec* c = r->connection;
  sink.add("GATEWAY_INTERFACE", "CGI/1.1");
  sink.add("SERVER_SOFTWARE", ap_get_server_banner());
  sink.add("SERVER_NAME", proxy.server.empty()
                              ? std::string_view(or_empty(ap_get_server_name_for_url(r)))
                              : std::string_view(proxy.server));
  sink.add("SERVER_ADDR", or_empty(c->local_ip));
  std::string port = std::to_string(ap_get_server_port(r));
  sink.add("SERVER_PORT", proxy.port.empty() ? port : proxy.port);
  sink.add("SERVER_ADMIN", or_empty(r->server->server_admin));
  sink.add("SERVER_SIGNATURE", or_empty(ap_psignature("", r)));
  sink.add("SERVER_PROTOCOL", or_empty(r->protocol));
  sink.add("REMOTE_ADDR", proxy.client_ip.empty() ? std::string_view(or_empty(r->useragent_ip))
                                                  : std::string_view(proxy.client_ip));
  if (c->client_addr != nullptr) sink.add("REMOTE_PORT", std::to_string(c->client_addr->port));
  if (r->user != nullptr) sink.add("REMOTE_USER", r->user);
  if (r->ap_auth_type != nullptr) sink.add("AUTH_TYPE", r->ap_auth_type);
  sink.add("DOCUMENT_ROOT", or_empty(ap_document_root(r)), Encoding::kFilesystem);
  sink.add("CONTEXT_PREFIX", or_empty(ap_context_prefix(r)));
  sink.add("CONTEXT_DOCUMENT_ROOT", or_empty(ap_context_document_root(r)), Encoding::kFilesystem);
  sink.add("REQUEST_SCHEME", or_empty(ap_http_scheme(r)));
  sink.add("REQUEST_METHOD", head_as_get_ && r->header_only ? "GET" : or_empty(r->method));
  // As the client sent it, also after an internal redirect (ErrorDocument, mod_rewrite's
  // [PT] in a directory), whose target is the request's own URI.
  sink.add("REQUEST_URI", r->the_request != nullptr
                              ? wsgi_rules::request_line_target(r->the_request)
                              : std::string_view(or_empty(r->unparsed_uri)));
  sink.add("QUERY_STRING", or_empty(r->args));
  if (r->prev != nullptr) {  // what the redirect replaced, as httpd gives CGI scripts
    if (r->prev->uri != nullptr) sink.add("REDIRECT_URL", r->prev->uri);
    if (r->prev->args != nullptr) sink.add("REDIRECT_QUERY_STRING", r->prev->args);
  }
  sink.add("SCRIPT_FILENAME", or_empty(r->filename), Encoding::kFilesystem);
  sink.add("SCRIPT_NAME", proxy.script.empty() ? script_name_ : proxy.script);
  sink.add("PATH_INFO", path_info_);
  if (!proxy.scheme.empty()) {
    sink.add("wsgi.url_scheme", proxy.scheme == "https" ? "https" : "http");
  }
}

void ApacheExchange::add_mod_wsgi_variables(const ProxyView& proxy, wsgi::EnvironSink& sink) {
  request_rec* r = r_;
  conn_rec* c = r->connection;
  sink.add("mod_wsgi.process_group", traits_.process_group);
  sink.add("mod_wsgi.application_group", traits_.application_group);
  sink.add("mod_wsgi.callable_object", traits_.callable_object);
  sink.add("mod_wsgi.request_handler", or_empty(r->handler));
  sink.add("mod_wsgi.handler_script", traits_.handler_script);
  bool reloading = cfg_ == nullptr || cfg_->script_reloading != apache::Tristate::kOff;
  sink.add("mod_wsgi.script_reloading", reloading ? "1" : "0");
  bool sendfile = cfg_ != nullptr && cfg_->enable_sendfile == apache::Tristate::kOn;
  sink.add("mod_wsgi.enable_sendfile", sendfile ? "1" : "0");
  sink.add("mod_wsgi.ignore_activity", "0");
  if (c->local_addr != nullptr) {
    sink.add("mod_wsgi.listener_host", or_empty(c->local_ip));
    sink.add("mod_wsgi.listener_port", std::to_string(c->local_addr->port));
  }
  if (r->log_id != nullptr) sink.add("mod_wsgi.request_id", r->log_id);
  if (c->log_id != nullptr) sink.add("mod_wsgi.connection_id", c->log_id);
  sink.add("mod_wsgi.script_name", script_name_);
  sink.add("mod_wsgi.path_info", path_info_);
  if (!proxy.script.empty()) sink.add("mod_wsgi.mount_point", proxy.script);
  sink.add("mod_wsgi.request_start", microseconds(r->request_time));
  sink.add("mod_wsgi.script_start", microseconds(apr_time_now()));
  static const std::string server_pid = std::to_string(static_cast<long>(getppid()));
  sink.add("mod_wsgi.server_pid", server_pid);
}

void ApacheExchange::environ(wsgi::EnvironSink& sink) {
  bool pass_auth = cfg_ != nullptr && cfg_->pass_authorization == apache::Tristate::kOn;
  if (const char* note = apr_table_get(r_->notes, "mod_wsgi.pass_authorization")) {
    pass_auth = note[0] == '1';  // pass-authorization= of the WSGIScriptAlias
  }
  if (hide_credentials_) pass_auth = false;
  ProxyView proxy = proxy_view(r_, cfg_);
  add_subprocess_env(r_, sink);
  add_request_headers(r_, pass_auth, proxy, sink);
  add_cgi_variables(proxy, sink);
  add_mod_wsgi_variables(proxy, sink);
}

long ApacheExchange::read(char* buffer, std::size_t size, std::string* error) {
  if (read_failed_) {
    *error = "the request body could not be read";
    return -1;
  }
  if (!read_started_) {
    read_started_ = true;
    // Sends "100 Continue" when the client waits for it.
    if (ap_should_client_block(r_) == 0) return 0;
  }
  if (r_->remaining == 0 && !r_->read_chunked) return 0;
  apr_size_t chunk = size > (1u << 30) ? (1u << 30) : size;
  long n = apache::read_request_body(r_, buffer, chunk, &body_error_status_);
  if (n < 0) {
    read_failed_ = true;
    *error = apache::body_failure_reason(body_error_status_);
    // A client that stops sending (cancelled upload, dropped connection, timeout) is normal
    // traffic, not a server fault.
    log(apache::body_failure_log_level(body_error_status_), "MP2107",
        "reading the request body failed: " + *error);
    return -1;
  }
  return n;
}

namespace {

void remove_byterange_filter(request_rec* r) {
  for (ap_filter_t* f = r->output_filters; f != nullptr; f = f->next) {
    if (f->frec != nullptr && f->frec->name != nullptr &&
        strcasecmp(f->frec->name, "byterange") == 0) {
      ap_remove_output_filter(f);
      return;
    }
  }
}

}  // namespace

IoResult ApacheExchange::start(int status, std::string_view status_line,
                               const std::vector<wsgi::Header>& headers) {
  request_rec* r = r_;
  r->status = status;
  r->status_line = apr_pstrmemdup(r->pool, status_line.data(), status_line.size());
  for (const auto& h : headers) {
    const char* name = apr_pstrmemdup(r->pool, h.name.data(), h.name.size());
    const char* value = apr_pstrmemdup(r->pool, h.value.data(), h.value.size());
    if (strcasecmp(name, "Content-Type") == 0) {
      // Through httpd's setter so AddOutputFilterByType and charset handling work.
      ap_set_content_type(r, value);
    } else if (strcasecmp(name, "Content-Length") == 0) {
      apr_table_setn(r->headers_out, "Content-Length", value);
    } else if (strcasecmp(name, "Accept-Ranges") == 0) {
      // httpd's byte-range filter ignores this header; an application that says it serves
      // no ranges must not get its body cut into 206 answers.
      if (strcasecmp(value, "none") == 0) remove_byterange_filter(r);
      apr_table_addn(r->headers_out, name, value);
    } else if (strcasecmp(name, "WWW-Authenticate") == 0) {
      // Kept on error documents too (an ErrorDocument for the 401 must still challenge).
      apr_table_addn(r->err_headers_out, name, value);
    } else {
      apr_table_addn(r->headers_out, name, value);
    }
  }
  return IoResult::kOk;
}

IoResult ApacheExchange::pass(bool /*flush_or_eos_added*/) {
  apr_status_t rv = ap_pass_brigade(r_->output_filters, bb_);
  apr_brigade_cleanup(bb_);
  if (rv == APR_SUCCESS && !r_->connection->aborted) return IoResult::kOk;
  return r_->connection->aborted || APR_STATUS_IS_ECONNABORTED(rv) ||
                 APR_STATUS_IS_ECONNRESET(rv) || APR_STATUS_IS_EPIPE(rv)
             ? IoResult::kClientGone
             : IoResult::kError;
}

IoResult ApacheExchange::write(const char* data, std::size_t size, bool flush) {
  apr_bucket_alloc_t* alloc = r_->connection->bucket_alloc;
  if (size > 0) APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_transient_create(data, size, alloc));
  queued_ += size;
  if (!flush) return IoResult::kOk;
  queued_ = 0;
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(alloc));
  return pass(true);
}

namespace {

apr_status_t close_descriptor(void* data) {
  ::close(*static_cast<int*>(data));
  return APR_SUCCESS;
}

}  // namespace

IoResult ApacheExchange::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  // Our own descriptor: the application closes its file when we return, while the bucket
  // may be written later (event MPM write completion). The request pool outlives the data.
  auto* own = static_cast<int*>(apr_palloc(r_->pool, sizeof(int)));
  *own = ::dup(fd);
  if (*own < 0) return IoResult::kError;
  apr_pool_cleanup_register(r_->pool, own, close_descriptor, apr_pool_cleanup_null);
  bool sendfile = cfg_ != nullptr && cfg_->enable_sendfile == apache::Tristate::kOn;
  apr_file_t* file = nullptr;
  apr_int32_t flags = APR_FOPEN_READ | (sendfile ? APR_FOPEN_SENDFILE_ENABLED : 0);
  if (apr_os_file_put(&file, own, flags, r_->pool) != APR_SUCCESS) return IoResult::kError;
  apr_brigade_insert_file(bb_, file, static_cast<apr_off_t>(offset), static_cast<apr_off_t>(length),
                          r_->pool);
  return IoResult::kOk;
}

bool ApacheExchange::defer_finish() {
  // Worth it for small bodies only: the queued data belongs to Python objects and is copied.
  constexpr std::size_t kMaxDeferred = std::size_t{64} * 1024;
  if (queued_ > kMaxDeferred) return false;
  for (apr_bucket* b = APR_BRIGADE_FIRST(bb_); b != APR_BRIGADE_SENTINEL(bb_);
       b = APR_BUCKET_NEXT(b)) {
    if (apr_bucket_setaside(b, r_->pool) != APR_SUCCESS) return false;
  }
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(r_->connection->bucket_alloc));
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(r_->connection->bucket_alloc));
  deferred_ = true;
  return true;
}

void ApacheExchange::send_deferred() {
  if (!deferred_) return;
  deferred_ = false;
  if (pass(true) == IoResult::kClientGone) {
    log(APLOG_DEBUG, "MP2106", "client closed the connection during the response");
  }
}

IoResult ApacheExchange::finish() {
  // EOS first, so the Content-Length filter still sees the whole body, then a flush: the
  // response leaves now instead of when httpd next looks for a pipelined request.
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(r_->connection->bucket_alloc));
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(r_->connection->bucket_alloc));
  return pass(true);
}

void ApacheExchange::abort() {
  // An error bucket makes the chunk filter leave out the last chunk; closing the connection
  // marks a fixed-length body as short.
  r_->connection->keepalive = AP_CONN_CLOSE;
  // What is queued goes out first (with the headers): an error bucket seen before the headers
  // would turn the response into an error page instead.
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(r_->connection->bucket_alloc));
  if (pass(true) != IoResult::kOk) return;
  APR_BRIGADE_INSERT_TAIL(bb_, ap_bucket_error_create(HTTP_BAD_GATEWAY, nullptr, r_->pool,
                                                      r_->connection->bucket_alloc));
  APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(r_->connection->bucket_alloc));
  ap_pass_brigade(r_->output_filters, bb_);
  apr_brigade_cleanup(bb_);
}

void ApacheExchange::close_after_response() { r_->connection->keepalive = AP_CONN_CLOSE; }

void ApacheExchange::log(int level, std::string_view id, std::string_view message) {
  apache::log_wsgi_request(level, 0, r_, id, message);
}

bool ApacheExchange::ssl_is_https() {
  auto* is_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
  return is_https != nullptr && is_https(r_->connection) != 0;
}

std::optional<std::string> ApacheExchange::ssl_var(const std::string& name) {
  auto* lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
  if (lookup == nullptr) return std::nullopt;
  char* value =
      lookup(r_->pool, r_->server, r_->connection, r_, apr_pstrdup(r_->pool, name.c_str()));
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace mp::handlers
