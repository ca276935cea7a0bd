// One request on libcurl's easy interface: checking it before it is accepted, setting its options,
// collecting the response through libcurl's callbacks within the size limits, and naming what went
// wrong when libcurl reports an error.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>

#include "client_core.h"

namespace simpang::http::internal {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// tchar of RFC 9110 §5.6.2.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool has_header(const ClientRequest& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// The method attaches a body even when it is empty (Content-Length: 0).
bool always_has_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string_view line(data, length);
  // Each response (an interim 1xx, each redirect, the final one) starts with its status line.
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();
    t->header_bytes = 0;
    return length;
  }
  t->header_bytes += length;
  if (t->header_bytes > t->max_header_bytes) {
    t->header_too_large = true;
    return 0;  // anything but `length` makes libcurl abort the transfer
  }
  if (line.empty()) return length;
  if (line.front() == ' ' || line.front() == '\t') {  // obs-fold: continues the previous field
    if (!t->response.headers.empty() && !trim(line).empty()) {
      t->response.headers.back().second += ' ';
      t->response.headers.back().second += trim(line);
    }
    return length;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;  // the blank line, or not a field
  t->response.headers.emplace_back(std::string(line.substr(0, colon)),
                                   std::string(trim(line.substr(colon + 1))));
  return length;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t length = size * count;
  if (t->response.body.size() + length > t->max_body_bytes) {
    t->body_too_large = true;
    return 0;
  }
  t->response.body.append(data, length);
  return length;
}

bool is_tls_error(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string redact_url(std::string_view url) {
  size_t scheme_end = url.find("://");
  size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  size_t end = std::min(url.find_first_of("?#", authority_start), url.size());
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string kept(url.substr(0, authority_start));
  kept += authority;
  if (authority_end < end) kept += url.substr(authority_end, end - authority_end);
  // Control characters and spaces would let a URL forge lines in a log.
  std::string out;
  for (char c : kept) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> request_problem(const ClientRequest& request) {
  if (!is_token(request.method)) {
    return "the method '" + redact_url(request.method) + "' is not an HTTP token";
  }
  if (request.method == "HEAD" && !request.body.empty()) return "a HEAD request takes no body";
  if (std::any_of(request.url.begin(), request.url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      })) {
    return std::string("the URL contains a space or a control character");
  }
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return std::string("libcurl could not parse URLs (out of memory)");
  CURLUcode parsed = curl_url_set(url.get(), CURLUPART_URL, request.url.c_str(), 0);
  if (parsed != CURLUE_OK) {
    return std::string("not a valid URL (") + curl_url_strerror(parsed) + ")";
  }
  char* scheme = nullptr;
  if (curl_url_get(url.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    return std::string("the URL has no scheme");
  }
  std::string scheme_text(scheme);
  curl_free(scheme);
  if (scheme_text != "http" && scheme_text != "https") {
    return "the scheme '" + scheme_text + "' is not supported (only http and https)";
  }
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) {
      return "the header name '" + redact_url(name) + "' is not an HTTP token";
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return "the value of header '" + name + "' contains CR, LF or NUL";
    }
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
      return "the header '" + name + "' is set by the client from the body";
    }
  }
  return std::nullopt;
}

Transfer::~Transfer() {
  if (easy != nullptr) curl_easy_cleanup(easy);
  if (header_list != nullptr) curl_slist_free_all(header_list);
}

ClientError Transfer::error(ClientErrorKind kind, const std::string& cause) const {
  return ClientError{kind, request.method + " " + redacted_url + ": " + cause};
}

std::optional<ClientError> Transfer::prepare(const ClientOptions& options,
                                             const std::string& user_agent) {
  easy = curl_easy_init();
  if (easy == nullptr) {
    return error(ClientErrorKind::kProtocol, "libcurl could not make a handle (out of memory)");
  }
  max_header_bytes = options.max_header_bytes;
  max_body_bytes = options.max_response_bytes;
  timeout = request.timeout.value_or(options.total_timeout);

  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  // Timeouts must not use SIGALRM: the process is the hub's or a plugin host's.
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (options.max_redirects > 0) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  // Refuses a body announced larger than the limit before reading it (a HEAD reads none).
  if (request.method != "HEAD") {
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes));
  }

  const bool attach_body = !request.body.empty() || always_has_body(request.method);
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET" && !attach_body) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    if (attach_body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (request.method != "POST") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  for (const auto& [name, value] : request.headers) {
    // "Name;" is libcurl's spelling of a field with an empty value ("Name:" would remove it).
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* grown = curl_slist_append(header_list, line.c_str());
    if (grown == nullptr) return error(ClientErrorKind::kProtocol, "out of memory for headers");
    header_list = grown;
  }
  // libcurl would otherwise label a body application/x-www-form-urlencoded, and wait for a
  // 100 Continue before sending a large one.
  std::vector<std::string> removed;
  if (attach_body && !has_header(request, "Content-Type")) removed.push_back("Content-Type:");
  if (!has_header(request, "Expect")) removed.push_back("Expect:");
  for (const std::string& line : removed) {
    curl_slist* grown = curl_slist_append(header_list, line.c_str());
    if (grown == nullptr) return error(ClientErrorKind::kProtocol, "out of memory for headers");
    header_list = grown;
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
  return std::nullopt;
}

ClientResult Transfer::finish(CURLcode code, const ClientOptions& options) {
  if (code == CURLE_OK && !body_too_large && !header_too_large) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return std::move(response);
  }
  std::string detail = curl_error[0] != '\0' ? curl_error : curl_easy_strerror(code);
  auto with_detail = [&](const std::string& cause) { return cause + " (" + detail + ")"; };

  if (body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return error(ClientErrorKind::kTooLarge, "the response body is over max_response_bytes (" +
                                                 std::to_string(max_body_bytes) + " bytes)");
  }
  if (header_too_large) {
    return error(ClientErrorKind::kTooLarge, "the response header is over max_header_bytes (" +
                                                 std::to_string(max_header_bytes) + " bytes)");
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    // Connected means libcurl got as far as sending the request. Before that the deadline is
    // the shorter of the two timeouts, so the connect timeout is the one that passed when it is
    // the shorter.
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    if (pretransfer == 0 && options.connect_timeout < timeout) {
      return error(ClientErrorKind::kConnectTimeout,
                   with_detail("no connection within connect_timeout (" +
                               std::to_string(options.connect_timeout.count()) +
                               " ms, TCP connect and TLS handshake)"));
    }
    return error(ClientErrorKind::kTimeout,
                 with_detail("no complete response within the total timeout (" +
                             std::to_string(timeout.count()) + " ms)"));
  }
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return error(ClientErrorKind::kConnect, with_detail("the host name could not be resolved"));
    case CURLE_COULDNT_CONNECT:
      return error(ClientErrorKind::kConnect, with_detail("could not connect"));
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return error(ClientErrorKind::kInvalidRequest, with_detail("the URL cannot be requested"));
    case CURLE_TOO_MANY_REDIRECTS:
      return error(ClientErrorKind::kProtocol,
                   with_detail("more redirects than max_redirects (" +
                               std::to_string(options.max_redirects) + ")"));
    case CURLE_PEER_FAILED_VERIFICATION:
      return error(ClientErrorKind::kTls,
                   with_detail("the server's TLS certificate did not verify"));
    case CURLE_SSL_CACERT_BADFILE:
      return error(
          ClientErrorKind::kTls,
          with_detail("the trust store could not be read (ca_file '" + options.ca_file + "')"));
    default:
      break;
  }
  if (is_tls_error(code))
    return error(ClientErrorKind::kTls, with_detail("the TLS handshake failed"));
  return error(ClientErrorKind::kProtocol,
               with_detail("the connection broke or the answer is not HTTP"));
}

}  // namespace simpang::http::internal
