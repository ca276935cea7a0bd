// Fuzz target: lms-xapi's statement validation (plugins/lms-xapi/xapi_statement.h) and its query
// parameters (xapi_query.h), both fed untrusted input by learning platforms. Validation must
// never throw; what it accepts must validate again unchanged (normalisation is idempotent) and map
// to events without throwing; the same bytes as a query string must parse or be refused.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "xapi_mapping.h"
#include "xapi_query.h"
#include "xapi_statement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simpang::plugins::lms_xapi;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_query(text);

  nlohmann::json statement = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (statement.is_discarded()) {
    return 0;
  }
  if (validate_statement(statement)) {
    return 0;  // refused with a path and a rule: fine
  }
  nlohmann::json again = statement;
  if (validate_statement(again) || again != statement) {
    std::abort();  // an accepted, normalised statement must stay accepted and unchanged
  }
  // What the LRS adds before mapping.
  if (!statement.contains("id")) statement["id"] = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0";
  if (!statement.contains("timestamp")) statement["timestamp"] = "2026-01-01T00:00:00Z";
  statement["stored"] = "2026-01-01T00:00:00.000Z";
  (void)statement_events(statement, MappingOptions{"/lms/xapi", {}});
  return 0;
}
