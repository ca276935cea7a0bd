// Fuzz target: lms-caliper's envelope checks (plugins/lms-caliper/caliper_envelope.h) and the
// mapping of what they accept (caliper_mapping.h), both fed untrusted bodies by sensors and
// Canvas. Checking must never throw; an accepted envelope must map to events without throwing,
// each item giving its raw event first with a non-empty id.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <variant>

#include "caliper_envelope.h"
#include "caliper_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simpang::plugins::lms_caliper;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  auto checked = check_envelope(body, Limits{100});
  if (std::holds_alternative<EnvelopeError>(checked)) {
    if (std::get<EnvelopeError>(checked).message().empty()) std::abort();
    return 0;
  }
  const Envelope& envelope = std::get<Envelope>(checked);
  for (const nlohmann::json& item : envelope.items) {
    const auto events = envelope.format == Format::kCanvas ? canvas_events(item, {})
                                                           : caliper_events(item, {});
    if (events.empty() || events[0].id().empty()) std::abort();
  }
  return 0;
}
