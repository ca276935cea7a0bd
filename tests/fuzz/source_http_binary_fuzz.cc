// Fuzz target: source-http's binary content mode (plugins/source-http/cloudevents_http.cc), the
// ce-* header fields, Content-Type and body of an untrusted partner request. Input, as on the
// wire: header lines "Name: value" (a line without ':' is a name with an empty value; a final CR
// is dropped, the value's surrounding spaces and tabs are trimmed, as an HTTP server does), an
// empty line, then the body. Whatever the request, the mapping answers with events the hub takes
// or a refusal naming the rule (source_http_checks.h); and an event carries exactly what the
// headers said: each ce- attribute decoded once, Content-Type as datacontenttype, the body as its
// data.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "cloudevents_http.h"
#include "source_http_checks.h"

namespace {

namespace sh = simpang::plugins::source_http;
using simpang::fuzz::violated;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The request the input stands for; returns the body.
std::string_view parse_request(std::string_view rest, sh::HeaderFields& headers) {
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      break;
    }
    const size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    const std::string_view value =
        colon == std::string_view::npos ? std::string_view() : trim(line.substr(colon + 1));
    headers.emplace_back(std::string(name), std::string(value));
  }
  return rest;
}

// The event's value for a context attribute that has a field of its own, or nullptr.
const std::string* field_of(const simpang::v1::Event& event, std::string_view attribute) {
  if (attribute == "id") return &event.id();
  if (attribute == "source") return &event.source();
  if (attribute == "type") return &event.type();
  if (attribute == "subject") return &event.subject();
  if (attribute == "specversion") return &event.spec_version();
  return nullptr;
}

void check_binary_event(const sh::HeaderFields& headers, std::string_view body,
                        const simpang::v1::Event& event) {
  for (const auto& [name, value] : headers) {
    if (name.size() <= 3) {
      continue;
    }
    std::string lowered;
    for (char c : name) {
      lowered.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    if (lowered.compare(0, 3, "ce-") != 0) {
      continue;
    }
    const std::string attribute = lowered.substr(3);
    const std::string* field = field_of(event, attribute);
    if (field == nullptr) {
      continue;
    }
    auto decoded = sh::decode_header_value(value);
    if (!decoded.ok()) {
      violated("an event mapped from a header value the decoder refuses", name);
    }
    if (*decoded != *field) {
      violated("a mapped attribute differs from its decoded header", name);
    }
  }
  const std::string* content_type = sh::find_header(headers, "content-type");
  const std::string_view declared = content_type != nullptr ? trim(*content_type) : "";
  if (event.data_content_type() != declared) {
    violated("datacontenttype is not the Content-Type", event.data_content_type());
  }
  const std::string* data = event.has_text_data()     ? &event.text_data()
                            : event.has_binary_data() ? &event.binary_data()
                                                      : nullptr;
  if (body.empty() ? data != nullptr : data == nullptr || *data != body) {
    violated("the event's data is not the body");
  }
  if (event.has_text_data() && !simpang::fuzz::utf8(event.text_data())) {
    violated("text data that is not UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sh::HeaderFields headers;
  const std::string_view body =
      parse_request(std::string_view(reinterpret_cast<const char*>(data), size), headers);
  const sh::MappingResult result = sh::map_request(headers, body, sh::MappingLimits{});
  if (const auto* problem = std::get_if<sh::Problem>(&result)) {
    simpang::fuzz::check_problem(*problem);
    return 0;
  }
  const sh::MappedRequest& mapped = std::get<sh::MappedRequest>(result);
  if (mapped.mode != sh::ContentMode::kBatch && mapped.events.size() != 1) {
    violated("a single-event mode gave another number of events");
  }
  for (const simpang::v1::Event& event : mapped.events) {
    simpang::fuzz::check_event(event);
  }
  if (mapped.mode == sh::ContentMode::kBinary) {
    check_binary_event(headers, body, mapped.events.front());
  }
  return 0;
}
