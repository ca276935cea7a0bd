// What sink-webhook sends, and what the answer means; see webhook_request.h.
#include "webhook_request.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "simpang/base/safe_text.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::sink_webhook {
namespace {

using simpang::sdk::Outcome;
using simpang::v1::Event;

constexpr size_t kExcerptBytes = 200;

// The context attributes binary mode sends as ce-* headers, in the order sent; datacontenttype is
// Content-Type, and the data is the body.
constexpr std::array<const char*, 7> kHeaderAttributes = {
    "specversion", "id", "source", "type", "subject", "time", "dataschema"};

bool is_attribute_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

bool is_context_attribute(std::string_view name) {
  return name == "datacontenttype" || name == "data" ||
         std::any_of(kHeaderAttributes.begin(), kHeaderAttributes.end(),
                     [&](const char* named) { return name == named; });
}

// An attribute's canonical string, from its CloudEvents JSON value.
std::string canonical_string(const nlohmann::json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "true" : "false";
  }
  return value.dump();  // an Integer
}

}  // namespace

std::string percent_encode_header_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E || c == '"' || c == '%') {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

EncodedEvent encode_structured(const Event& event) {
  EncodedEvent out;
  out.headers.emplace_back("Content-Type", kStructuredMediaType);
  out.body = simpang::sdk::to_cloudevents_json(event);
  return out;
}

StatusOr<EncodedEvent> encode_binary(const Event& event) {
  // The attributes alone, rendered by the SDK's CloudEvents writer, so each value's string form
  // is exactly the JSON format's (timestamps, booleans, bytes as base64) and the data is not
  // copied or rendered.
  Event attributes;
  attributes.set_spec_version(event.spec_version());
  attributes.set_id(event.id());
  attributes.set_source(event.source());
  attributes.set_type(event.type());
  attributes.set_subject(event.subject());
  if (event.has_time()) {
    *attributes.mutable_time() = event.time();
  }
  attributes.set_data_schema(event.data_schema());
  if (event.has_proto_data() && event.data_schema().empty()) {
    attributes.set_data_schema(event.proto_data().type_url());
  }
  for (const auto& [name, value] : event.extensions()) {
    if (!is_attribute_name(name) || is_context_attribute(name)) {
      return Status::Error("event " + simpang::safe_text(event.id()) + ": extension name '" +
                           simpang::safe_text(name) +
                           "' cannot be a ce- header (CloudEvents naming: a-z and 0-9 only, and "
                           "not a context attribute's name)");
    }
    (*attributes.mutable_extensions())[name] = value;
  }
  const nlohmann::json rendered = nlohmann::json::parse(
      simpang::sdk::to_cloudevents_json(attributes), nullptr, /*allow_exceptions=*/false);
  if (!rendered.is_object()) {
    return Status::Error("event " + simpang::safe_text(event.id()) +
                         ": its attributes could not be rendered");
  }

  EncodedEvent out;
  for (const char* name : kHeaderAttributes) {
    if (auto it = rendered.find(name); it != rendered.end()) {
      out.headers.emplace_back(std::string("ce-") + name,
                               percent_encode_header_value(canonical_string(*it)));
    }
  }
  for (const auto& [name, value] : rendered.items()) {  // a JSON object's keys are sorted
    if (event.extensions().contains(name)) {
      out.headers.emplace_back("ce-" + name, percent_encode_header_value(canonical_string(value)));
    }
  }
  if (!event.data_content_type().empty()) {
    if (!is_header_value(event.data_content_type())) {
      return Status::Error("event " + simpang::safe_text(event.id()) +
                           ": attribute 'datacontenttype' holds a control character and cannot "
                           "be sent as Content-Type");
    }
    out.headers.emplace_back("Content-Type", event.data_content_type());
  }
  switch (event.data_case()) {
    case Event::kTextData:
      out.body = event.text_data();
      break;
    case Event::kBinaryData:
      out.body = event.binary_data();
      break;
    case Event::kProtoData:
      out.body = event.proto_data().value();
      break;
    case Event::DATA_NOT_SET:
      break;
  }
  return out;
}

StatusOr<EncodedEvent> encode_event(const Event& event, ContentMode mode) {
  if (mode == ContentMode::kStructured) {
    return encode_structured(event);
  }
  return encode_binary(event);
}

void add_signature_headers(HeaderFields& headers, std::string_view id, int64_t timestamp,
                           std::string_view body,
                           const std::vector<simpang::http::WebhookSecret>& secrets) {
  headers.emplace_back(std::string(simpang::http::kWebhookIdHeader), std::string(id));
  headers.emplace_back(std::string(simpang::http::kWebhookTimestampHeader),
                       std::to_string(timestamp));
  if (secrets.empty()) {
    return;
  }
  std::string signatures;
  for (const simpang::http::WebhookSecret& secret : secrets) {
    if (!signatures.empty()) {
      signatures.push_back(' ');
    }
    signatures += secret.sign(id, timestamp, body);
  }
  headers.emplace_back(std::string(simpang::http::kWebhookSignatureHeader), std::move(signatures));
}

std::string body_excerpt(std::string_view body) { return simpang::safe_text(body, kExcerptBytes); }

Verdict judge(const simpang::http::ClientResult& result, std::string_view shown_url,
              std::chrono::milliseconds max_retry_after,
              std::chrono::system_clock::time_point now) {
  Verdict verdict;
  if (!result.ok()) {
    // The client's message names the method, the URL (redacted) and the cause.
    verdict.outcome = Outcome::retry_later(
        "no answer (" + std::string(simpang::http::to_string(result.error().kind)) +
        "): " + result.error().message);
    return verdict;
  }
  const simpang::http::ClientResponse& response = *result;
  verdict.status = response.status;
  const int status = response.status;
  if (status >= 200 && status < 300) {
    return verdict;
  }
  const std::string reason = "HTTP " + std::to_string(status) + " from " + std::string(shown_url) +
                             ": " + body_excerpt(response.body);
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    verdict.outcome = Outcome::retry_later(reason);
    if (status == 429 || status == 503) {
      const std::optional<std::chrono::seconds> wait = response.retry_after(now);
      const auto cap = std::chrono::duration_cast<std::chrono::seconds>(max_retry_after);
      if (wait && wait->count() > 0) {
        verdict.pause = std::min(*wait, cap);
      }
    }
    return verdict;
  }
  verdict.outcome = Outcome::reject(reason);
  return verdict;
}

}  // namespace simpang::plugins::sink_webhook
