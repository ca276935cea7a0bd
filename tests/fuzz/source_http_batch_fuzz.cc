// Fuzz target: source-http's structured and batched content modes
// (plugins/source-http/cloudevents_http.cc), untrusted JSON bodies. Input: the Content-Type on the
// first line (a final CR dropped; an empty line is no Content-Type), then the body. Beyond the
// checks every answer gets (source_http_checks.h), a batch is all or nothing: it yields exactly
// one event per array entry, in order and with the entries' id, source and type, or a refusal;
// a refusal about one entry carries that entry's index, the entries before it map on their own,
// and a refusal about the whole body says so truly (not JSON, not an array, too many entries).
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "cloudevents_http.h"
#include "source_http_checks.h"

namespace {

namespace sh = simpang::plugins::source_http;
using nlohmann::json;
using simpang::fuzz::violated;

// Small, so that the limit is reached as well as every path below it.
constexpr size_t kMaxBatchEvents = 16;

// Whether `event` has the `name` attribute `entry` gives, when the entry gives it as a string.
void check_same(const json& entry, const char* name, const std::string& value, size_t index) {
  const auto it = entry.find(name);
  if (it != entry.end() && it->is_string() && it->get<std::string>() != value) {
    violated("a batch event differs from its entry",
             "entry " + std::to_string(index) + ": " + name);
  }
}

// The media type without parameters, lower case: which mode the binding must choose.
std::string essence(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
    type.remove_prefix(1);
  }
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  std::string lowered;
  for (char c : type) {
    lowered.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return lowered;
}

void check_batch(std::string_view body, const sh::MappingResult& result) {
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (const auto* mapped = std::get_if<sh::MappedRequest>(&result)) {
    if (mapped->mode != sh::ContentMode::kBatch) {
      violated("a batch Content-Type mapped in another mode");
    }
    if (!parsed.is_array() || parsed.size() != mapped->events.size()) {
      violated("a batch that did not yield one event per entry");
    }
    for (size_t i = 0; i < parsed.size(); ++i) {
      const simpang::v1::Event& event = mapped->events[i];
      check_same(parsed[i], "id", event.id(), i);
      check_same(parsed[i], "source", event.source(), i);
      check_same(parsed[i], "type", event.type(), i);
    }
    return;
  }
  const sh::Problem& problem = std::get<sh::Problem>(result);
  if (!problem.index) {
    if (problem.type == "malformed-json"    ? !parsed.is_discarded()
        : problem.type == "not-a-batch"     ? parsed.is_discarded() || parsed.is_array()
        : problem.type == "batch-too-large" ? !parsed.is_array() || parsed.size() <= kMaxBatchEvents
                                            : problem.status != 415) {
      violated("a refusal of the whole batch that is not true of it", problem.detail);
    }
    return;
  }
  const size_t index = *problem.index;
  if (!parsed.is_array() || index >= parsed.size() || parsed.size() > kMaxBatchEvents) {
    violated("a refusal naming an entry the batch does not have", problem.detail);
  }
  const std::string where = "event " + std::to_string(index) + ":";
  if (problem.detail.find(where) == std::string::npos) {
    violated("a refusal whose detail does not name its entry", problem.detail);
  }
  // The entries before the failing one, on their own (as JSON the parser wrote back), map.
  std::string before = "[";
  for (size_t i = 0; i < index; ++i) {
    before += (i == 0 ? "" : ",") + parsed[i].dump();
  }
  before += "]";
  const sh::MappingResult prefix = sh::map_batch(before, sh::MappingLimits{kMaxBatchEvents});
  if (const auto* refused = std::get_if<sh::Problem>(&prefix)) {
    violated("the entries before the refused one do not map", refused->detail);
  }
}

void check_structured(std::string_view body, const sh::MappingResult& result) {
  if (const auto* problem = std::get_if<sh::Problem>(&result)) {
    if (problem->index) {
      violated("a structured refusal with a batch index", problem->detail);
    }
    return;
  }
  const auto& mapped = std::get<sh::MappedRequest>(result);
  if (mapped.mode != sh::ContentMode::kStructured || mapped.events.size() != 1) {
    violated("a structured body that did not yield one structured event");
  }
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    violated("a structured event from a body that is not a JSON object");
  }
  check_same(parsed, "id", mapped.events[0].id(), 0);
  check_same(parsed, "source", mapped.events[0].source(), 0);
  check_same(parsed, "type", mapped.events[0].type(), 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  std::string_view content_type = input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? "" : input.substr(nl + 1);
  if (!content_type.empty() && content_type.back() == '\r') {
    content_type.remove_suffix(1);
  }
  sh::HeaderFields headers;
  if (!content_type.empty()) {
    headers.emplace_back("Content-Type", std::string(content_type));
  }
  const sh::MappingResult result =
      sh::map_request(headers, body, sh::MappingLimits{kMaxBatchEvents});
  if (const auto* problem = std::get_if<sh::Problem>(&result)) {
    simpang::fuzz::check_problem(*problem);
  } else {
    for (const simpang::v1::Event& event : std::get<sh::MappedRequest>(result).events) {
      simpang::fuzz::check_event(event);
    }
  }
  if (const auto* problem = std::get_if<sh::Problem>(&result); problem && problem->status == 415) {
    return 0;  // not read as JSON at all
  }
  if (essence(content_type) == sh::kBatchMediaType) {
    check_batch(body, result);
  } else {
    check_structured(body, result);
  }
  return 0;
}
