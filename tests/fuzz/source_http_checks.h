// What the source-http fuzz targets (source_http_binary, source_http_batch) require of every
// answer of the CloudEvents HTTP mapping (plugins/source-http/cloudevents_http.h), whatever the
// request: an event the hub would take and that survives the SDK's CloudEvents JSON writer and
// reader with its identity intact, or a refusal a partner's program can act on. Each violation
// prints what broke and aborts, so libFuzzer keeps the input.
#pragma once

#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cloudevents_http.h"
#include "problem.h"
#include "simpang/base/event_rules.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::fuzz {

[[noreturn]] inline void violated(const char* rule, std::string_view detail = {}) {
  std::fprintf(stderr, "source-http fuzz: %s%s%.*s\n", rule, detail.empty() ? "" : ": ",
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// protobuf's own validator: not the one under test (the plugin has its own).
inline bool utf8(std::string_view text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                             static_cast<int>(text.size()));
}

// An event the mapping returned: the hub's rules for a published event hold (the size limits
// are the publisher's, checked when it publishes, not the mapping's), and CloudEvents JSON
// written by the SDK reads back to the same identity and the same data.
inline void check_event(const simpang::v1::Event& event) {
  const Status rules =
      check_event_attributes(event.id(), event.source(), event.type(), event.spec_version());
  if (!rules.ok()) {
    violated("a mapped event breaks the hub's rules", rules.message());
  }
  for (const auto& [name, value] : event.extensions()) {
    const Status named = check_extension_name(event.id(), name);
    if (!named.ok()) {
      violated("a mapped event has an extension the hub refuses", named.message());
    }
  }
  const std::string written = simpang::sdk::to_cloudevents_json(event);
  auto back = simpang::sdk::from_cloudevents_json(written);
  if (!back.ok()) {
    violated("the SDK cannot read back a mapped event it wrote", back.status().message());
  }
  if (back->id() != event.id() || back->source() != event.source() ||
      back->type() != event.type() || back->spec_version() != event.spec_version() ||
      back->subject() != event.subject()) {
    violated("a mapped event changes identity through CloudEvents JSON", written);
  }
  if (back->data_case() == simpang::v1::Event::kBinaryData &&
      back->binary_data() != event.binary_data()) {
    violated("a mapped event's binary data changes through CloudEvents JSON", written);
  }
}

// A refusal: an HTTP status the binding answers with, a type and title, a detail that is valid
// UTF-8 and names the attribute when the problem is about one, and a problem+json body that is
// JSON carrying the same detail.
inline void check_problem(const plugins::source_http::Problem& p) {
  if (p.status != 400 && p.status != 413 && p.status != 415) {
    violated("a refusal with an unexpected status", std::to_string(p.status));
  }
  if (p.type.empty() || p.title.empty() || p.detail.empty()) {
    violated("a refusal without a type, title or detail", p.detail);
  }
  if (!utf8(p.detail)) {
    violated("a refusal whose detail is not UTF-8", p.detail);
  }
  if (p.type == "invalid-attribute") {
    if (p.attribute.empty()) {
      violated("an invalid-attribute refusal that names no attribute", p.detail);
    }
    if (p.detail.find(p.attribute) == std::string::npos) {
      violated("a refusal whose detail does not name its attribute", p.detail);
    }
  }
  const std::string body = plugins::source_http::problem_json(p);
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    violated("problem+json that is not a JSON object", body);
  }
  const auto detail = parsed.find("detail");
  if (detail == parsed.end() || !detail->is_string() || detail->get<std::string>() != p.detail) {
    violated("problem+json that does not carry the detail", body);
  }
}

}  // namespace simpang::fuzz
