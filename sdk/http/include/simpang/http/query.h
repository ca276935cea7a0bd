// Query strings as browsers and HTTP clients send them (application/x-www-form-urlencoded: '+' is
// a space, %XX an escaped byte), for endpoints that read parameters from Request::query.
//
//   auto params = simpang::http::decode_query(request.query);   // nullopt: a malformed escape
//   if (params && params->count("limit")) ...
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace simpang::http {

// One component, decoded. Nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

// Every name=value pair of `query` (without the '?'), decoded; a name without '=' has an empty
// value; a repeated name keeps its last value. Nullopt for a malformed escape in any pair.
std::optional<std::map<std::string, std::string>> decode_query(std::string_view query);

}  // namespace simpang::http
