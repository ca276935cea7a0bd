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

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace simpang::hub::config_internal {

// Something in the YAML that has no faithful JSON form, and where it is.
struct YamlProblem {
  YAML::Mark mark;
  std::string message;
};

// How to resolve secret references (config/secret_refs.h) in string values while converting.
// OWNERSHIP: `source` is borrowed and must outlive the call.
struct ReferenceContext {
  std::string_view source;         // the file's text, to place a problem at its reference
  std::filesystem::path base_dir;  // a relative ${file:PATH} is relative to it
};

// Converts `node` (any shape). Appends to `problems` what cannot be converted: a non-scalar, null
// or non-UTF-8 mapping key, a duplicate key, a value that is not UTF-8, an integer beyond 64 bits,
// an unsupported tag, a value tagged with a type it does not have, nesting deeper than 64 levels
// (an alias that contains itself), or more than 100,000 values after alias expansion. The
// returned value is meaningful only if none was added. With `references`, every string value (not
// a mapping key) has its ${env:...} and ${file:...} references resolved, and one that cannot be
// is a problem at the reference itself; without, strings stay as written (the form that may be
// shown to people).
nlohmann::json yaml_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems,
                            const ReferenceContext* references = nullptr);

// The JSON form of one scalar (or null) node, per the rules above. A scalar that cannot be
// converted is reported through `problems` and yields its text as a string.
nlohmann::json yaml_scalar_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems);

}  // namespace simpang::hub::config_internal
