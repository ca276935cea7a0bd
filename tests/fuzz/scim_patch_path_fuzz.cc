// Fuzz target: SCIM PATCH paths (plugins/hr-scim/scim_patch.cc), fed the untrusted `path` of each
// operation: parsed, then applied as a replace and a remove to a user.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "scim_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simpang::plugins::hr_scim;
  using nlohmann::json;
  const std::string path(reinterpret_cast<const char*>(data), size);
  (void)parse_patch_path(path, FilterLimits{});
  json user = json::parse(
      R"({"userName":"b","emails":[{"value":"a@b","type":"work"}],"name":{"givenName":"x"}})");
  for (const char* op : {"replace", "add", "remove"}) {
    json body = {{"schemas", {kPatchOpSchema}},
                 {"Operations", {{{"op", op}, {"path", path}, {"value", "v"}}}}};
    const json before = user;
    if (auto error = apply_patch(user, body, PatchLimits{}); error && user != before) {
      std::abort();  // a refused patch must leave the resource as it was
    }
  }
  return 0;
}
