// Converts a plugin instance's `config:` mapping from YAML to the JSON document the plugin receives
// (simpang_host_api::config_json).
//
// YAML scalars arrive from yaml-cpp as text; a plain (unquoted) scalar becomes a JSON null, bool or
// number when it reads as one under the YAML 1.2 core schema, and a string otherwise. A quoted or
// block scalar, or one tagged !!str, always stays a string, so `zip: "01234"` keeps its zero.
//
//   std::vector<YamlProblem> problems;
//   nlohmann::json j = yaml_to_json(node["config"], problems);
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simpang::hub::config_internal {

// Something in the YAML that has no faithful JSON form, and where it is.
struct YamlProblem {
  YAML::Mark mark;
  std::string message;
};

// Converts `node` (any shape). Appends to `problems` what cannot be converted: a non-scalar or null
// mapping key, a duplicate key, an integer beyond 64 bits, an unsupported tag, a value tagged with
// a type it does not have, nesting deeper than 64 levels (an alias that contains itself), or more
// than a million values after alias expansion. The returned value is meaningful only if none was
// added.
nlohmann::json yaml_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems);

// The JSON form of one scalar (or null) node, per the rules above. A scalar that cannot be
// converted is reported through `problems` and yields its text as a string.
nlohmann::json yaml_scalar_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems);

}  // namespace simpang::hub::config_internal
