// Fuzz target: the SCIM filter parser and evaluator (plugins/hr-scim/scim_filter.cc), fed the
// untrusted `filter` parameter. Whatever parses must evaluate against a user without failing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scim_filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simpang::plugins::hr_scim;
  static const nlohmann::json user = nlohmann::json::parse(
      R"({"userName":"b","active":true,"emails":[{"value":"a@b","type":"work"}],"name":{"givenName":"x"},
          "meta":{"lastModified":"2026-01-01T00:00:00Z"},
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}})");
  auto filter =
      parse_filter(std::string_view(reinterpret_cast<const char*>(data), size), FilterLimits{});
  if (filter.ok()) {
    (void)matches(**filter, user);
  } else if (filter.status().message().empty()) {
    std::abort();  // a refusal always says why
  }
  return 0;
}
