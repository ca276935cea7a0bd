#include "simpang/http/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>

namespace simpang::http {
namespace {

constexpr size_t kSha256Size = 32;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="  (RFC 9110 11.2)
bool is_token68(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_token68_char(s[i])) ++i;
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

// Splits "<scheme> 1*SP <credentials>" and checks the scheme. The scheme is a token, echoed in the
// message only when it is short and printable (it is not secret; the credentials are).
StatusOr<std::string_view> credentials_of(std::string_view header_value, std::string_view scheme) {
  std::string_view v = trim(header_value);
  if (v.empty()) {
    return Status::Error("Authorization header is empty (expected the " + std::string(scheme) +
                         " scheme)");
  }
  const size_t space = v.find_first_of(" \t");
  const std::string_view got = v.substr(0, space);
  if (!iequals(got, scheme)) {
    bool printable = got.size() <= 32;
    for (char c : got) printable = printable && c > ' ' && c < 0x7f;
    return Status::Error("Authorization header: expected the " + std::string(scheme) +
                         " scheme, got " +
                         (printable ? "'" + std::string(got) + "'" : std::string("another")));
  }
  if (space == std::string_view::npos) {
    return Status::Error("Authorization header: no credentials after the " + std::string(scheme) +
                         " scheme");
  }
  return trim(v.substr(space));
}

// Strict standard base64 (RFC 4648 section 4, padded, canonical): EVP_DecodeBlock skips surrounding
// whitespace and returns the padding as zero bytes, so the input is checked first and the padding
// bytes are cut from its output.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (in.back() == '=') pad = (in[in.size() - 2] == '=') ? 2 : 1;
  for (size_t i = 0; i < in.size() - pad; ++i) {
    const char c = in[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return std::nullopt;
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  // Canonical only: the unused low bits of the last character must be zero, so each byte string
  // has exactly one accepted spelling (RFC 4648 section 3.5).
  const char last = in[in.size() - 1 - pad];
  int value = 63;  // '/'
  if (last >= 'a') {
    value = last - 'a' + 26;
  } else if (last >= 'A') {
    value = last - 'A';
  } else if (last >= '0') {
    value = last - '0' + 52;
  } else if (last == '+') {
    value = 62;
  }
  const int unused_bits = pad == 1 ? 0x3 : pad == 2 ? 0xf : 0;
  if ((value & unused_bits) != 0) return std::nullopt;
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1 ||
      len != kSha256Size) {
    std::abort();  // SHA-256 is always available in OpenSSL's default provider
  }
  return out;
}

// Equal-length digests compared without an early exit.
bool digest_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Fetched once: EVP_MAC objects are reference counted and safe to share between threads.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (m == nullptr) std::abort();  // HMAC is part of OpenSSL's default provider
    return m;
  }();
  return mac;
}

// HMAC-SHA256(key, id "." timestamp "." body), fed in pieces so the body is not copied.
std::string webhook_mac(const std::string& key, std::string_view id, std::string_view timestamp,
                        std::string_view body) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  std::string out(kSha256Size, '\0');
  size_t len = 0;
  const auto feed = [ctx](std::string_view s) {
    return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(s.data()), s.size()) == 1;
  };
  const bool ok =
      ctx != nullptr &&
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) ==
          1 &&
      feed(id) && feed(".") && feed(timestamp) && feed(".") && feed(body) &&
      EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) == 1 &&
      len == kSha256Size;
  EVP_MAC_CTX_free(ctx);
  if (!ok) std::abort();  // only allocation failure gets here
  return out;
}

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

// --- Basic
// -----------------------------------------------------------------------------------------

StatusOr<BasicCredentials> parse_basic_authorization(std::string_view header_value) {
  auto encoded = credentials_of(header_value, "Basic");
  if (!encoded.ok()) return encoded.status();
  auto decoded = base64_decode(*encoded);
  if (!decoded) {
    return Status::Error("Authorization header: Basic credentials are not valid base64");
  }
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return Status::Error(
        "Authorization header: Basic credentials have no ':' between user-id and "
        "password");
  }
  BasicCredentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (has_control(c.user) || has_control(c.password)) {
    return Status::Error(
        "Authorization header: Basic user-id or password contains a control "
        "character");
  }
  return c;
}

StatusOr<BasicAuth> BasicAuth::create(const std::vector<BasicCredentials>& accepted) {
  if (accepted.empty()) return Status::Error("Basic auth: no credentials configured");
  std::vector<Entry> entries;
  entries.reserve(accepted.size());
  for (size_t i = 0; i < accepted.size(); ++i) {
    if (accepted[i].user.find(':') != std::string::npos) {
      return Status::Error("Basic auth: credentials " + std::to_string(i) +
                           ": the user-id contains ':', which RFC 7617 does not allow");
    }
    entries.push_back({sha256(accepted[i].user), sha256(accepted[i].password)});
  }
  return BasicAuth(std::move(entries));
}

StatusOr<size_t> BasicAuth::authenticate(std::string_view header_value) const {
  auto presented = parse_basic_authorization(header_value);
  if (!presented.ok()) return presented.status();
  const std::string user = sha256(presented->user);
  const std::string password = sha256(presented->password);
  size_t match = entries_.size();
  for (size_t i = entries_.size(); i-- > 0;) {  // backwards, so the first match is kept
    // Both comparisons always run (non-short-circuit &), so a known user costs no more than an
    // unknown one.
    const bool hit = digest_equal(entries_[i].user_digest, user) &
                     digest_equal(entries_[i].password_digest, password);
    if (hit) match = i;
  }
  if (match == entries_.size()) return Status::Error("Basic auth: invalid user-id or password");
  return match;
}

// --- Bearer
// ----------------------------------------------------------------------------------------

StatusOr<std::string> parse_bearer_authorization(std::string_view header_value) {
  auto token = credentials_of(header_value, "Bearer");
  if (!token.ok()) return token.status();
  if (token->empty()) return Status::Error("Authorization header: empty bearer token");
  if (!is_token68(*token)) {
    return Status::Error(
        "Authorization header: bearer token has a character outside the token68 "
        "syntax (RFC 6750 section 2.1)");
  }
  return std::string(*token);
}

StatusOr<BearerAuth> BearerAuth::create(const std::vector<std::string>& tokens) {
  if (tokens.empty()) return Status::Error("Bearer auth: no tokens configured");
  std::vector<std::string> digests;
  digests.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!is_token68(tokens[i])) {
      return Status::Error("Bearer auth: token " + std::to_string(i) +
                           " is empty or not token68 syntax, so no client could present it");
    }
    digests.push_back(sha256(tokens[i]));
  }
  return BearerAuth(std::move(digests));
}

StatusOr<size_t> BearerAuth::authenticate(std::string_view header_value) const {
  auto token = parse_bearer_authorization(header_value);
  if (!token.ok()) return token.status();
  const std::string digest = sha256(*token);
  size_t match = digests_.size();
  for (size_t i = digests_.size(); i-- > 0;) {
    if (digest_equal(digests_[i], digest)) match = i;
  }
  if (match == digests_.size()) return Status::Error("Bearer auth: invalid bearer token");
  return match;
}

// --- Standard Webhooks
// -----------------------------------------------------------------------------

StatusOr<WebhookSecret> WebhookSecret::parse(std::string_view text) {
  constexpr std::string_view kPrefix = "whsec_";
  if (text.substr(0, kPrefix.size()) == kPrefix) text.remove_prefix(kPrefix.size());
  if (text.empty()) return Status::Error("malformed webhook secret: no key after 'whsec_'");
  auto key = base64_decode(text);
  if (!key) return Status::Error("malformed webhook secret: the key after 'whsec_' is not base64");
  if (key->empty()) return Status::Error("malformed webhook secret: the key is empty");
  return WebhookSecret(std::move(*key));
}

std::string WebhookSecret::sign(std::string_view id, int64_t timestamp,
                                std::string_view body) const {
  return "v1," + base64_encode(webhook_mac(key_, id, std::to_string(timestamp), body));
}

StatusOr<WebhookVerifier> WebhookVerifier::create(const std::vector<std::string>& secrets,
                                                  WebhookVerifierOptions options) {
  if (secrets.empty()) return Status::Error("webhook verifier: no secrets configured");
  if (options.tolerance.count() < 0) {
    return Status::Error("webhook verifier: the timestamp tolerance is negative");
  }
  std::vector<WebhookSecret> parsed;
  parsed.reserve(secrets.size());
  for (size_t i = 0; i < secrets.size(); ++i) {
    auto s = WebhookSecret::parse(secrets[i]);
    if (!s.ok()) {
      return Status::Error("webhook verifier: secret " + std::to_string(i) + ": " +
                           s.status().message());
    }
    parsed.push_back(std::move(*s));
  }
  return WebhookVerifier(std::move(parsed), std::move(options));
}

Status WebhookVerifier::verify(const WebhookHeaders& headers, std::string_view body) const {
  const auto present = [](const std::optional<std::string_view>& h) { return h && !h->empty(); };
  if (!present(headers.id)) return Status::Error("missing header webhook-id");
  if (!present(headers.timestamp)) return Status::Error("missing header webhook-timestamp");
  if (!present(headers.signature)) return Status::Error("missing header webhook-signature");

  const std::string_view ts_text = *headers.timestamp;
  int64_t ts = 0;
  const auto [end, ec] = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), ts);
  if (ec != std::errc() || end != ts_text.data() + ts_text.size() || ts_text.front() == '-') {
    const bool printable = ts_text.size() <= 32 && !has_control(ts_text);
    return Status::Error("webhook-timestamp " +
                         (printable ? "'" + std::string(ts_text) + "' " : std::string()) +
                         "is not an integer number of seconds");
  }
  const auto now_tp = options_.now ? options_.now() : std::chrono::system_clock::now();
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(now_tp.time_since_epoch()).count();
  const uint64_t tolerance = static_cast<uint64_t>(options_.tolerance.count());
  // ts >= 0, so each difference below fits in uint64_t whatever the (injected) clock says.
  if (ts<now&& static_cast<uint64_t>(now) - static_cast<uint64_t>(ts)> tolerance) {
    return Status::Error("webhook-timestamp is " +
                         std::to_string(static_cast<uint64_t>(now) - static_cast<uint64_t>(ts)) +
                         " s too old (tolerance " + std::to_string(tolerance) + " s)");
  }
  if (ts > now && static_cast<uint64_t>(ts) - static_cast<uint64_t>(now) > tolerance) {
    return Status::Error("webhook-timestamp is " +
                         std::to_string(static_cast<uint64_t>(ts) - static_cast<uint64_t>(now)) +
                         " s in the future (tolerance " + std::to_string(tolerance) + " s)");
  }

  // "v1,<base64>" entries separated by spaces; other versions are for other schemes (v1a is
  // asymmetric) and are skipped, as are entries that do not decode to a SHA-256 MAC.
  std::vector<std::string> candidates;
  size_t v1_entries = 0;
  std::string_view rest = *headers.signature;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (entry.substr(0, 3) != "v1,") continue;
    ++v1_entries;
    auto mac = base64_decode(entry.substr(3));
    if (mac && mac->size() == kSha256Size) candidates.push_back(std::move(*mac));
  }
  if (v1_entries == 0) return Status::Error("webhook-signature has no v1 signature");

  bool matched = false;
  for (const WebhookSecret& secret : secrets_) {
    const std::string expected = webhook_mac(secret.key(), *headers.id, ts_text, body);
    for (const std::string& candidate : candidates) {
      matched |= digest_equal(expected, candidate);  // no early exit
    }
  }
  if (!matched) {
    return Status::Error(
        "webhook-signature does not match (no v1 signature verifies with any secret)");
  }
  return Status::Ok();
}

}  // namespace simpang::http
