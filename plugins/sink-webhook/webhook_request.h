// What sink-webhook sends for one event, as pure functions: the CloudEvents HTTP protocol binding
// 1.0 in the sending direction (structured and binary mode; the exact inverse of source-http's
// cloudevents_http.h), the Standard Webhooks signature headers, and what an answer means for the
// delivery. No I/O and no clock of their own, so unit tests call them directly.
//
//   StatusOr<EncodedEvent> encoded = encode_event(event, ContentMode::kBinary);
//   if (!encoded.ok()) return Outcome::reject(encoded.status().message());
//   add_signature_headers(encoded->headers, event.id(), unix_now, encoded->body, secrets);
//   ...
//   Verdict v = judge(result, shown_url, max_retry_after, system_clock::now());
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpang/base/status.h"
#include "simpang/http/auth.h"
#include "simpang/http/client.h"
#include "simpang/sdk/plugin.h"
#include "simpang/v1/event.pb.h"
#include "webhook_config.h"

namespace simpang::plugins::sink_webhook {

inline constexpr char kStructuredMediaType[] = "application/cloudevents+json";

// The part of a request that depends on the event: header fields (Content-Type included) and body.
struct EncodedEvent {
  HeaderFields headers;
  std::string body;
};

// A binary-mode header value (binding §3.1.3.2): space, '"', '%' and every byte outside printable
// ASCII (U+0021-U+007E; so control characters and each byte of a non-ASCII character's UTF-8
// form) written as %XX with upper-case hex digits; everything else as it is.
std::string percent_encode_header_value(std::string_view value);

// Structured mode: Content-Type application/cloudevents+json, the body simpang::sdk's
// to_cloudevents_json(event).
EncodedEvent encode_structured(const simpang::v1::Event& event);

// Binary mode (binding §3.1): one `ce-<name>` header per attribute (specversion, id, source, type,
// subject, time, dataschema, then the extensions by name), each value the attribute's canonical
// string as the CloudEvents JSON format writes it (so a Boolean is "true", a Timestamp RFC 3339),
// percent-encoded; datacontenttype as Content-Type (none when the event has none); the body the
// data's bytes: text_data, binary_data, or a proto_data Any's value (with dataschema set to the
// Any's type URL when the event has no dataschema, as the JSON format does). An empty
// spec_version is sent as "1.0".
// Fails, naming the attribute, when it cannot be said in a header: a datacontenttype with a
// control character, or an extension name outside CloudEvents naming (a-z, 0-9).
StatusOr<EncodedEvent> encode_binary(const simpang::v1::Event& event);

StatusOr<EncodedEvent> encode_event(const simpang::v1::Event& event, ContentMode mode);

// Appends webhook-id (`id`), webhook-timestamp (`timestamp`, seconds since the Unix epoch) and,
// when there is a secret, webhook-signature: each secret's "v1,<base64>" over
// "{id}.{timestamp}.{body}", joined by single spaces (Standard Webhooks, for key rotation).
// REQUIRES: `id` is a valid header value (see is_header_value).
void add_signature_headers(HeaderFields& headers, std::string_view id, int64_t timestamp,
                           std::string_view body,
                           const std::vector<simpang::http::WebhookSecret>& secrets);

// Whether `value` can be sent as a header field value as it is: no CR, LF, NUL or other control
// character (a tab is allowed).
bool is_header_value(std::string_view value);

// What an answer (or the lack of one) means for the delivery.
struct Verdict {
  simpang::sdk::Outcome outcome = simpang::sdk::Outcome::ack();
  // Set when the receiver asked us to wait before sending again (Retry-After on 429 or 503),
  // capped at max_retry_after; nullopt when it did not (or asked for 0 s).
  std::optional<std::chrono::seconds> pause;
  int status = 0;  // the HTTP status; 0 when there was no response
};

// 2xx: ack. 408, 429, 5xx, and no response (a network error, a timeout, a TLS failure): retry
// later, the reason naming the status or the error. Any other status (1xx, 3xx, other 4xx):
// reject with "HTTP <status> from <shown_url>: <the first 200 bytes of the body, made safe with
// simpang::safe_text>". `now` is what an HTTP-date Retry-After is measured from.
Verdict judge(const simpang::http::ClientResult& result, std::string_view shown_url,
              std::chrono::milliseconds max_retry_after, std::chrono::system_clock::time_point now);

// The first 200 bytes of an answer's body, as valid UTF-8 text fit for a reason.
std::string body_excerpt(std::string_view body);

}  // namespace simpang::plugins::sink_webhook
