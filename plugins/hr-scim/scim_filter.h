// SCIM filters and attribute paths (RFC 7644 3.4.2.2 and 3.5.2): parsed into a tree, evaluated
// against a resource held as JSON. Attribute names compare case-insensitively (RFC 7643 2.1);
// string values too, except the caseExact attributes id, externalId and meta.version.
//
//   auto filter = parse_filter("userName eq \"bjensen\" and emails[type eq \"work\"]", limits);
//   if (!filter.ok()) answer 400 invalidFilter with filter.status().message();
//   bool hit = matches(**filter, user_json);
//
// Pure functions, no I/O: the unit tests and the fuzz targets link them alone.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpang/base/status.h"

namespace simpang::plugins::hr_scim {

inline constexpr char kUserSchema[] = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr char kGroupSchema[] = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr char kEnterpriseSchema[] =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// An attribute path: [schema URN ":"] name ["." sub]. `schema` is empty for a core attribute
// (a core URN prefix is dropped while parsing); names keep the client's spelling.
struct AttrPath {
  std::string schema;  // an extension's URN, e.g. kEnterpriseSchema
  std::string name;
  std::string sub;
  std::string text() const;
};

struct Filter {
  enum class Kind { kCompare, kPresent, kAnd, kOr, kNot, kValuePath };
  Kind kind = Kind::kCompare;
  AttrPath attr;         // kCompare, kPresent, kValuePath
  std::string op;        // kCompare: eq ne co sw ew gt ge lt le (lower case)
  nlohmann::json value;  // kCompare: string, number, boolean or null
  std::vector<std::unique_ptr<Filter>> children;  // kAnd/kOr: 2; kNot and kValuePath: 1
};

struct FilterLimits {
  size_t max_length = 4096;  // characters of the filter text
  size_t max_depth = 16;     // nesting of and/or/not/parentheses/[ ]
};

// Parses a whole filter. Errors say what was expected and at which character offset, e.g.
// "at 12: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or pr, got 'eqq'".
StatusOr<std::unique_ptr<Filter>> parse_filter(std::string_view text, const FilterLimits& limits);

// A PATCH path: an attribute path, or a value path `attr[filter]` with an optional `.sub`
// (RFC 7644 3.5.2, the PATH rule).
struct PatchPath {
  AttrPath attr;                   // attr.sub set when the path names a sub-attribute directly
  std::unique_ptr<Filter> filter;  // the value filter, or null
  std::string filtered_sub;        // the sub-attribute after `]`, empty if none
};
StatusOr<PatchPath> parse_patch_path(std::string_view text, const FilterLimits& limits);

// Parses an attribute path alone (the `attributes`, `excludedAttributes` and `sortBy` parameters).
StatusOr<AttrPath> parse_attr_path(std::string_view text);

// Whether `resource` matches. A comparison whose types do not fit (gt on a boolean, co on a
// number) is false, as is any comparison on a missing attribute except `ne`-less `not`.
bool matches(const Filter& filter, const nlohmann::json& resource);

// The attribute's value in `object` (case-insensitive names), or nullptr.
const nlohmann::json* find_member(const nlohmann::json& object, std::string_view name);
nlohmann::json* find_member(nlohmann::json& object, std::string_view name);
// The value at `path` (the extension object for a schema-qualified path), or nullptr. A sub
// attribute of a multi-valued attribute has no single value: nullptr.
const nlohmann::json* resolve(const nlohmann::json& resource, const AttrPath& path);

// Whether `a` sorts before `b` by SCIM ordering of one attribute (strings case-insensitively).
int compare_values(const nlohmann::json& a, const nlohmann::json& b, bool case_exact);
bool is_case_exact(const AttrPath& path);
bool iequals(std::string_view a, std::string_view b);

}  // namespace simpang::plugins::hr_scim
