// SCIM resources as HTTP answers: error bodies (RFC 7644 3.12), resource validation and meta,
// attribute projection, list answers (filter, sort, 1-based paging) and the discovery documents.
// Failures of validation and listing are Status messages "<scimType>: <detail>".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hr_scim_config.h"
#include "scim_filter.h"
#include "simpang/http/server.h"

namespace simpang::plugins::hr_scim {

inline constexpr char kErrorSchema[] = "urn:ietf:params:scim:api:messages:2.0:Error";
inline constexpr char kListSchema[] = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

simpang::http::Response scim_json(int status, std::string body);
simpang::http::Response scim_error(int status, const std::string& scim_type,
                                   const std::string& detail);

// The query's parameters (percent-decoded, '+' as space) as a JSON object of strings; nullopt when
// an escape is malformed.
std::optional<nlohmann::json> decode_query(const std::string& query);

// Checks a User or Group sent with POST/PUT/PATCH and sets its server-owned parts: id, schemas,
// meta (created kept from `before`). readOnly attributes sent by the client are ignored (RFC 7643
// 2.2).
StatusOr<nlohmann::json> normalise(const std::string& type, nlohmann::json resource,
                                   const nlohmann::json& before, const std::string& id,
                                   const std::string& version, int64_t now_ms);
std::string name_key(const std::string& type, const nlohmann::json& resource);

// `attributes` / `excludedAttributes` (comma-separated paths) applied to one resource.
StatusOr<nlohmann::json> project(const nlohmann::json& resource, const nlohmann::json& params);

struct ListLimits {
  size_t max_results = 200;
  FilterLimits filter;
};
// A ListResponse from `resources` and the filter, sortBy, sortOrder, startIndex, count,
// attributes and excludedAttributes parameters.
StatusOr<nlohmann::json> list_response(std::vector<nlohmann::json> resources,
                                       const nlohmann::json& params, const ListLimits& limits);

// "ServiceProviderConfig", "Schemas" or "ResourceTypes"; `base` is the URL up to /scim/v2.
nlohmann::json discovery(const std::string& which, const std::string& base,
                         const HrScimConfig& config);

}  // namespace simpang::plugins::hr_scim
