// Request authentication for HTTP endpoints and signing for outgoing webhooks: HTTP Basic
// (RFC 7617), Bearer tokens (RFC 6750) and Standard Webhooks (https://www.standardwebhooks.com).
// Everything takes header values as plain strings, so the HTTP server, a plugin's own handler and a
// test's webhook receiver use the same code whatever parsed the request. Secrets are compared in
// constant time; the MAC and digests are OpenSSL's.
//
//   auto bearer = simpang::http::BearerAuth::create({"s3cret-token"});
//   if (auto who = bearer->authenticate(request_authorization); !who.ok()) {
//     return respond(401, who.status().message());
//   }
//
//   auto verifier = simpang::http::WebhookVerifier::create({current_secret, previous_secret});
//   simpang::Status s = verifier->verify({.id = header("webhook-id"),  // std::nullopt if absent
//                                         .timestamp = header("webhook-timestamp"),
//                                         .signature = header("webhook-signature")},
//                                        body);
//
//   auto secret = simpang::http::WebhookSecret::parse(config_secret);
//   std::string value = secret->sign(event_id, unix_seconds, body);  // the webhook-signature value
//
// Messages never contain a secret, a password or a presented token.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpang/base/status.h"

namespace simpang::http {

// --- HTTP Basic (RFC 7617)
// -------------------------------------------------------------------------

// A user-id and password, as configured or as presented in an Authorization header.
struct BasicCredentials {
  std::string user;
  std::string password;
};

// Parses an `Authorization` header value of the Basic scheme: the scheme name (any case), one or
// more spaces, then base64 (with its padding) of `user:password`. The user-id ends at the first ':'
// (it cannot contain one); neither part may contain a control character. Fails naming the rule
// broken: a different or missing scheme, malformed base64, no ':'.
// Thread rule: a pure function; safe from any thread.
StatusOr<BasicCredentials> parse_basic_authorization(std::string_view header_value);

// Checks Basic credentials against a configured list. The comparison visits every entry and
// compares SHA-256 digests with CRYPTO_memcmp, so neither the position of a match nor the length
// of a user or password shows in the time taken.
// Thread rule: immutable after create(); authenticate() may be called from any number of threads.
class BasicAuth {
 public:
  // REQUIRES: at least one entry; no user contains ':' (it could never be presented). Duplicates
  // are allowed (the first matching entry wins).
  static StatusOr<BasicAuth> create(const std::vector<BasicCredentials>& accepted);

  // Parses `header_value` (see parse_basic_authorization) and returns the index into the list
  // given to create() of the entry it matches. A well-formed header with unknown credentials fails
  // with "invalid user-id or password" (which of the two is not said).
  StatusOr<size_t> authenticate(std::string_view header_value) const;

 private:
  struct Entry {
    std::string user_digest;      // SHA-256 of the user-id
    std::string password_digest;  // SHA-256 of the password
  };
  explicit BasicAuth(std::vector<Entry> entries) : entries_(std::move(entries)) {}
  std::vector<Entry> entries_;
};

// --- Bearer tokens (RFC 6750)
// ----------------------------------------------------------------------

// Parses an `Authorization` header value of the Bearer scheme: the scheme name (any case), one or
// more spaces, then a token68 (ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then any "=").
// Returns the token. Fails naming the rule broken: a different or missing scheme, an empty token, a
// character outside token68.
// Thread rule: a pure function; safe from any thread.
StatusOr<std::string> parse_bearer_authorization(std::string_view header_value);

// Checks a bearer token against one or more configured tokens (several, so a token can be rotated
// without downtime). Compares SHA-256 digests with CRYPTO_memcmp over every configured token.
// Thread rule: immutable after create(); authenticate() may be called from any number of threads.
class BearerAuth {
 public:
  // REQUIRES: at least one token, each a non-empty token68 (one a client could present).
  static StatusOr<BearerAuth> create(const std::vector<std::string>& tokens);

  // Parses `header_value` (see parse_bearer_authorization) and returns the index into the list
  // given to create() of the token it matches; an unknown token fails with "invalid bearer token".
  StatusOr<size_t> authenticate(std::string_view header_value) const;

 private:
  explicit BearerAuth(std::vector<std::string> digests) : digests_(std::move(digests)) {}
  std::vector<std::string> digests_;  // SHA-256 of each token
};

// --- Standard Webhooks
// -----------------------------------------------------------------------------

// The header names of the Standard Webhooks specification (lower case, as HTTP/2 sends them; HTTP
// header names are case-insensitive).
inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";

// A symmetric signing secret: `whsec_` followed by the base64 of the key (the prefix may be left
// out, as the reference libraries allow). The HMAC key is the decoded bytes.
// Thread rule: a value type; sign() is const and safe from any thread.
class WebhookSecret {
 public:
  // Fails with "malformed webhook secret: ..." for bad base64 or an empty key. The message never
  // contains the secret.
  static StatusOr<WebhookSecret> parse(std::string_view text);

  // The `webhook-signature` header value for a message: "v1," + base64(HMAC-SHA256(key,
  // "{id}.{timestamp}.{body}")). `timestamp` is in seconds since the Unix epoch and must be the
  // value sent in `webhook-timestamp`. To sign with several secrets during a rotation, join the
  // values of each with a single space.
  std::string sign(std::string_view id, int64_t timestamp, std::string_view body) const;

  // The decoded key bytes. OWNERSHIP: borrowed, valid while this object lives.
  const std::string& key() const { return key_; }

 private:
  explicit WebhookSecret(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// The three headers of a Standard Webhooks request, as received; std::nullopt for a header that
// was not sent. OWNERSHIP: views into the caller's request, which must outlive verify().
struct WebhookHeaders {
  std::optional<std::string_view> id;         // webhook-id
  std::optional<std::string_view> timestamp;  // webhook-timestamp, integer seconds since the epoch
  std::optional<std::string_view> signature;  // webhook-signature, "v1,<base64> v1,<base64> ..."
};

struct WebhookVerifierOptions {
  // How far `webhook-timestamp` may be from now, either way, before the request is refused as a
  // replay (or as coming from a badly skewed clock).
  std::chrono::seconds tolerance{std::chrono::minutes(5)};
  // The current time; empty means std::chrono::system_clock::now. Tests inject a fixed clock.
  // REQUIRES: safe to call from whichever threads call verify().
  std::function<std::chrono::system_clock::time_point()> now;
};

// Verifies incoming Standard Webhooks requests against one or more secrets (several, for
// rotation): the request is authentic when any secret's signature equals any `v1` entry of the
// `webhook-signature` header (entries of other versions are ignored), each comparison in constant
// time over every secret and entry.
// Thread rule: immutable after create(); verify() may be called from any number of threads.
class WebhookVerifier {
 public:
  // REQUIRES: at least one secret, each as WebhookSecret::parse accepts; tolerance >= 0. The
  // message of a malformed secret names its position in the list, never its text.
  static StatusOr<WebhookVerifier> create(const std::vector<std::string>& secrets,
                                          WebhookVerifierOptions options = {});

  // Checks, in this order, and fails with a message naming the first check that failed:
  //   "missing header webhook-id" (likewise webhook-timestamp, webhook-signature; empty counts as
  //   missing); "webhook-timestamp '...' is not an integer number of seconds"; "webhook-timestamp
  //   is N s too old (tolerance T s)" or "... N s in the future ..."; "webhook-signature has no v1
  //   signature"; "webhook-signature does not match (no v1 signature verifies with any secret)".
  // `body` is the raw request body, byte for byte as received.
  Status verify(const WebhookHeaders& headers, std::string_view body) const;

 private:
  WebhookVerifier(std::vector<WebhookSecret> secrets, WebhookVerifierOptions options)
      : secrets_(std::move(secrets)), options_(std::move(options)) {}
  std::vector<WebhookSecret> secrets_;
  WebhookVerifierOptions options_;
};

}  // namespace simpang::http
