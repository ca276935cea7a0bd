// SCIM PATCH (RFC 7644 3.5.2): a PatchOp message's operations applied to a resource held as JSON,
// all or none (the caller keeps the original when apply_patch fails).
//
//   if (auto error = apply_patch(user, body, limits)) answer error->status with its scimType;
//
// Pure functions, no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "scim_filter.h"

namespace simpang::plugins::hr_scim {

inline constexpr char kPatchOpSchema[] = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// A refusal as RFC 7644 3.12 answers it.
struct ScimError {
  int status = 400;
  std::string scim_type;  // empty for statuses that have none (401, 404, 412, ...)
  std::string detail;
};

struct PatchLimits {
  FilterLimits filter;
  size_t max_operations = 100;
};

// Applies every operation of `body` (a PatchOp message) to `resource`. Operation names compare
// case-insensitively; a value path that selects nothing is noTarget for replace and remove, and
// for add with a simple `eq` filter creates the element (what Entra ID and Okta send to set a
// work email). Readonly attributes (id, meta) are refused with mutability.
std::optional<ScimError> apply_patch(nlohmann::json& resource, const nlohmann::json& body,
                                     const PatchLimits& limits);

}  // namespace simpang::plugins::hr_scim
