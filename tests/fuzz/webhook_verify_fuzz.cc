// Fuzz target: the Standard Webhooks verifier (sdk/http/src/auth.cc), which reads the headers and
// body of untrusted requests before anything else does. Input, one field a line: the secret, the
// webhook-id, the webhook-timestamp, the webhook-signature, then the body (the rest, newlines and
// all). Whatever the input, verify() answers with a Status; and what sign() produces for the same
// id, timestamp and body must verify.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "simpang/http/auth.h"

namespace {

std::string_view next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string secret_text(next_line(rest));
  const std::string_view id = next_line(rest);
  const std::string_view timestamp = next_line(rest);
  const std::string_view signature = next_line(rest);
  const std::string_view body = rest;

  simpang::http::WebhookVerifierOptions options;
  options.tolerance = std::chrono::hours(24 * 365 * 100);  // reach the signature check
  options.now = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  };
  auto verifier = simpang::http::WebhookVerifier::create({secret_text}, options);
  if (!verifier.ok()) {
    return 0;  // malformed secret: refused with a message
  }
  const simpang::Status s =
      verifier->verify({.id = id, .timestamp = timestamp, .signature = signature}, body);
  if (!s.ok() && s.message().empty()) {
    std::abort();  // every refusal says why
  }

  auto secret = simpang::http::WebhookSecret::parse(secret_text);
  if (!secret.ok()) {
    std::abort();  // the verifier accepted it a moment ago
  }
  const int64_t ts = 1700000000 + static_cast<int64_t>(body.size());
  const std::string ts_text = std::to_string(ts);
  const std::string own = secret->sign(id, ts, body);
  const std::string header = std::string(signature) + " " + own;  // any v1 entry may match
  if (!id.empty() &&
      !verifier->verify({.id = id, .timestamp = ts_text, .signature = header}, body).ok()) {
    std::abort();  // we cannot verify what we signed
  }
  return 0;
}
