#include "config/yaml_to_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string_view>
#include <unordered_map>

#include "config/secret_refs.h"
#include "simpang/base/safe_text.h"

namespace simpang::hub::config_internal {
namespace {

constexpr int kMaxDepth = 64;
// Generous for any real plugin configuration, small enough that an alias "billion laughs" stops
// long before it costs memory: every value becomes a JSON value, and the loader converts twice
// (resolved and as written). A million took 75 MB and most of a second from a 334-byte file
// (550 MB and 20 s under the fuzzer's sanitizers, over its memory limit); this is a tenth of that.
constexpr size_t kMaxValues = 100'000;

constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";

bool is_null_text(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_text(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

// The YAML 1.2 core schema's integer forms: decimal with optional sign, 0o octal, 0x hex.
enum class IntForm { kNone, kDecimal, kOctal, kHex };

IntForm int_form(std::string_view s) {
  static const std::regex decimal("[-+]?[0-9]+");
  static const std::regex octal("0o[0-7]+");
  static const std::regex hex("0x[0-9a-fA-F]+");
  const std::string text(s);
  if (std::regex_match(text, decimal)) {
    return IntForm::kDecimal;
  }
  if (std::regex_match(text, octal)) {
    return IntForm::kOctal;
  }
  if (std::regex_match(text, hex)) {
    return IntForm::kHex;
  }
  return IntForm::kNone;
}

bool is_float_text(std::string_view s) {
  static const std::regex number(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return std::regex_match(std::string(s), number);
}

// Parses an integer of a known form; nullopt when it does not fit 64 bits (signed, or unsigned for
// large positive values).
std::optional<nlohmann::json> parse_int(std::string_view s, IntForm form) {
  int base = 10;
  if (form == IntForm::kOctal || form == IntForm::kHex) {
    base = form == IntForm::kOctal ? 8 : 16;
    s.remove_prefix(2);
  }
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  if (!negative) {
    if (magnitude <= static_cast<uint64_t>(INT64_MAX)) {
      return nlohmann::json(static_cast<int64_t>(magnitude));
    }
    return nlohmann::json(magnitude);
  }
  if (magnitude <= static_cast<uint64_t>(INT64_MAX)) {
    return nlohmann::json(-static_cast<int64_t>(magnitude));
  }
  if (magnitude == static_cast<uint64_t>(INT64_MAX) + 1) {
    return nlohmann::json(INT64_MIN);
  }
  return std::nullopt;
}

std::optional<double> parse_float(std::string_view s) {
  const std::string text(s);
  char* end = nullptr;
  // Underflow to zero or a subnormal is harmless; only an infinite result has no JSON form.
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Infers a plain scalar's JSON type.
nlohmann::json infer(const YAML::Node& node, std::vector<YamlProblem>& problems) {
  const std::string& s = node.Scalar();
  if (is_null_text(s)) {
    return nullptr;
  }
  if (std::optional<bool> b = bool_text(s)) {
    return *b;
  }
  if (IntForm form = int_form(s); form != IntForm::kNone) {
    if (std::optional<nlohmann::json> n = parse_int(s, form)) {
      return *n;
    }
    problems.push_back({node.Mark(), "the integer " + s +
                                         " does not fit in 64 bits; quote it to pass it as a "
                                         "string"});
    return s;
  }
  if (is_float_text(s)) {
    if (std::optional<double> d = parse_float(s)) {
      return *d;
    }
    problems.push_back(
        {node.Mark(), "the number " + s + " is out of range; quote it to pass it as a string"});
    return s;
  }
  // .inf and .nan have no JSON form; passing the text lets a plugin that wants them parse it.
  return s;
}

// Where the reference a problem is about starts in the file. The scalar's text is not the file's
// (quotes, escapes, folding), so the reference is looked up as written in the file from the
// scalar's start; when it cannot be found there (a reference spelt with escapes), the scalar's own
// position is the best there is.
YAML::Mark reference_mark(const YAML::Node& node, std::string_view text, std::string_view source,
                          const ReferenceProblem& problem) {
  const YAML::Mark start = node.Mark();
  if (start.is_null() || start.pos < 0 || static_cast<size_t>(start.pos) > source.size()) {
    return start;
  }
  const std::string_view written = text.substr(problem.offset, problem.length);
  size_t earlier = 0;  // the same text may occur before this one in the same scalar
  for (size_t at = text.find(written); at < problem.offset; at = text.find(written, at + 1)) {
    ++earlier;
  }
  const size_t from = static_cast<size_t>(start.pos);
  const size_t limit = from + 2 * text.size() + 16;  // a scalar's text is rarely longer written
  size_t found = source.find(written, from);
  for (; found != std::string_view::npos && earlier > 0; --earlier) {
    found = source.find(written, found + 1);
  }
  if (found == std::string_view::npos || found > limit) {
    return start;
  }
  YAML::Mark mark = start;
  mark.pos = static_cast<int>(found);
  const std::string_view between = source.substr(from, found - from);
  const size_t last_newline = between.rfind('\n');
  if (last_newline == std::string_view::npos) {
    mark.column = start.column + static_cast<int>(found - from);
  } else {
    mark.line = start.line + static_cast<int>(std::count(between.begin(), between.end(), '\n'));
    mark.column = static_cast<int>(between.size() - last_newline - 1);
  }
  return mark;
}

class Converter {
 public:
  Converter(std::vector<YamlProblem>& problems, const ReferenceContext* references)
      : problems_(problems), references_(references) {}

  nlohmann::json convert(const YAML::Node& node, int depth) {
    if (stopped_) {
      return nullptr;
    }
    if (++values_ > kMaxValues) {
      stop(node.Mark(), "this configuration has more than " + std::to_string(kMaxValues) +
                            " values after expanding aliases");
      return nullptr;
    }
    if (depth > kMaxDepth) {
      stop(node.Mark(), "this configuration nests more than " + std::to_string(kMaxDepth) +
                            " levels deep (does an alias refer to the node that contains it?)");
      return nullptr;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return resolve(node, yaml_scalar_to_json(node, problems_));
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const YAML::Node& item : node) {
          out.push_back(convert(item, depth + 1));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        std::unordered_map<std::string, int> first_line;
        for (auto it = node.begin(); it != node.end(); ++it) {
          const YAML::Node key = it->first;  // a copy: the iterator's proxy is temporary
          if (!key.IsScalar()) {
            problems_.push_back({key.Mark(), key.IsNull()
                                                 ? "a mapping key is null; JSON keys are strings"
                                                 : "a mapping key is not a scalar; JSON keys are "
                                                   "strings"});
            continue;
          }
          if (!is_valid_utf8(key.Scalar())) {
            problems_.push_back({key.Mark(), "the mapping key " + safe_text(key.Scalar()) +
                                                 " is not UTF-8 text; JSON keys are UTF-8"});
            continue;
          }
          auto [seen, inserted] = first_line.emplace(key.Scalar(), key.Mark().line + 1);
          if (!inserted) {
            problems_.push_back({key.Mark(), "duplicate key '" + key.Scalar() +
                                                 "' (first given at line " +
                                                 std::to_string(seen->second) + ")"});
            continue;
          }
          out[key.Scalar()] = convert(it->second, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  nlohmann::json resolve(const YAML::Node& node, nlohmann::json value) {
    if (references_ == nullptr || !value.is_string() ||
        !has_references(value.get_ref<const std::string&>())) {
      return value;
    }
    const std::string& text = value.get_ref<const std::string&>();
    std::vector<ReferenceProblem> found;
    std::string resolved = resolve_references(text, references_->base_dir, found);
    for (const ReferenceProblem& p : found) {
      problems_.push_back({reference_mark(node, text, references_->source, p), p.message});
    }
    return resolved;
  }

  // Reports once and converts nothing more: a runaway document would otherwise repeat the problem
  // for every remaining value.
  void stop(const YAML::Mark& mark, std::string message) {
    problems_.push_back({mark, std::move(message)});
    stopped_ = true;
  }

  std::vector<YamlProblem>& problems_;
  const ReferenceContext* references_;
  size_t values_ = 0;
  bool stopped_ = false;
};

}  // namespace

nlohmann::json yaml_scalar_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems) {
  if (!node.IsDefined() || node.IsNull()) {
    return nullptr;
  }
  const std::string& tag = node.Tag();
  const std::string& s = node.Scalar();
  // yaml-cpp passes bytes through as they are; nlohmann would throw writing them.
  if (!is_valid_utf8(s)) {
    problems.push_back(
        {node.Mark(), "the value " + safe_text(s) + " is not UTF-8 text; JSON strings are UTF-8"});
    return safe_text(s);
  }
  // "?" is yaml-cpp's tag for a plain scalar, "!" for a quoted or block one.
  if (tag == "?") {
    return infer(node, problems);
  }
  if (tag == "!" || tag == kTagStr) {
    return s;
  }
  nlohmann::json inferred = infer(node, problems);
  auto mismatch = [&](const char* type) {
    problems.push_back({node.Mark(), "the value '" + s + "' is tagged !!" + type + " but is not " +
                                         (type[0] == 'i' ? "an " : "a ") + type});
    return nlohmann::json(s);
  };
  if (tag == kTagInt) {
    return inferred.is_number_integer() ? inferred : mismatch("int");
  }
  if (tag == kTagFloat) {
    if (inferred.is_number()) {
      return inferred.get<double>();
    }
    return mismatch("float");
  }
  if (tag == kTagBool) {
    return inferred.is_boolean() ? inferred : mismatch("bool");
  }
  if (tag == kTagNull) {
    return inferred.is_null() ? inferred : mismatch("null");
  }
  problems.push_back({node.Mark(), "the YAML tag '" + tag +
                                       "' is not supported here; plugin configuration is plain "
                                       "JSON (strings, numbers, booleans, null, lists, mappings)"});
  return s;
}

nlohmann::json yaml_to_json(const YAML::Node& node, std::vector<YamlProblem>& problems,
                            const ReferenceContext* references) {
  return Converter(problems, references).convert(node, 0);
}

}  // namespace simpang::hub::config_internal
