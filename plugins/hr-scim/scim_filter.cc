// SCIM filter and path parsing and evaluation; see scim_filter.h.
#include "scim_filter.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;

char lower_char(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower_char);
  return out;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '$' ||
         c == ':' || c == '.';
}

// Splits "urn:...:name.sub" or "name.sub" into an AttrPath.
StatusOr<AttrPath> split_path(std::string_view token) {
  AttrPath path;
  std::string_view rest = token;
  if (rest.size() > 4 && iequals(rest.substr(0, 4), "urn:")) {
    const size_t colon = rest.rfind(':');
    std::string schema(rest.substr(0, colon));
    rest = rest.substr(colon + 1);
    if (iequals(schema, kUserSchema) || iequals(schema, kGroupSchema)) {
      schema.clear();
    } else if (iequals(schema, kEnterpriseSchema)) {
      schema = kEnterpriseSchema;
    } else {
      return Status::Error("unknown schema '" + schema + "' in attribute path '" +
                           std::string(token) + "'");
    }
    path.schema = std::move(schema);
  }
  const size_t dot = rest.find('.');
  path.name = std::string(rest.substr(0, dot));
  if (dot != std::string_view::npos) path.sub = std::string(rest.substr(dot + 1));
  auto valid = [](const std::string& n) {
    return !n.empty() && std::isalpha(static_cast<unsigned char>(n[0])) &&
           std::all_of(n.begin(), n.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '$';
           });
  };
  if (!valid(path.name) || (dot != std::string_view::npos && !valid(path.sub))) {
    return Status::Error("'" + std::string(token) + "' is not an attribute path");
  }
  return path;
}

class Parser {
 public:
  Parser(std::string_view text, const FilterLimits& limits) : text_(text), limits_(limits) {}

  StatusOr<std::unique_ptr<Filter>> whole() {
    auto f = parse_or(0);
    if (!f.ok()) return f;
    skip_space();
    if (pos_ != text_.size())
      return fail("unexpected '" + std::string(text_.substr(pos_, 10)) + "'");
    return f;
  }

  // Parses `name[filter]` value-path tails for PATCH paths.
  StatusOr<PatchPath> patch_path() {
    PatchPath out;
    auto token = attr_token();
    if (!token.ok()) return token.status();
    auto attr = split_path(*token);
    if (!attr.ok()) return fail(attr.status().message());
    out.attr = std::move(*attr);
    if (pos_ < text_.size() && text_[pos_] == '[') {
      if (!out.attr.sub.empty())
        return fail("a value filter applies to a multi-valued attribute, not a sub-attribute");
      ++pos_;
      auto f = parse_or(1);
      if (!f.ok()) return f.status();
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ']') return fail("expected ']'");
      ++pos_;
      out.filter = std::move(*f);
      if (pos_ < text_.size() && text_[pos_] == '.') {
        ++pos_;
        const size_t start = pos_;
        while (pos_ < text_.size() && is_name_char(text_[pos_]) && text_[pos_] != '.') ++pos_;
        out.filtered_sub = std::string(text_.substr(start, pos_ - start));
        if (out.filtered_sub.empty()) return fail("expected a sub-attribute name after ']'.");
      }
    }
    if (pos_ != text_.size())
      return fail("unexpected '" + std::string(text_.substr(pos_, 10)) + "'");
    return out;
  }

 private:
  Status fail(const std::string& what) const {
    return Status::Error("at " + std::to_string(pos_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  // The next bare word (letters, digits, ':', '.', '_', '-', '$'), not consumed.
  std::string_view peek_word() {
    skip_space();
    size_t end = pos_;
    while (end < text_.size() && is_name_char(text_[end])) ++end;
    return text_.substr(pos_, end - pos_);
  }
  StatusOr<std::string> attr_token() {
    std::string_view word = peek_word();
    if (word.empty()) {
      return fail(pos_ >= text_.size() ? "expected an attribute path, got the end"
                                       : "expected an attribute path, got '" +
                                             std::string(text_.substr(pos_, 1)) + "'");
    }
    pos_ += word.size();
    return std::string(word);
  }
  bool keyword(std::string_view kw) {
    std::string_view word = peek_word();
    if (iequals(word, kw)) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  StatusOr<std::unique_ptr<Filter>> parse_or(size_t depth) {
    if (depth > limits_.max_depth) {
      return fail("the filter nests deeper than " + std::to_string(limits_.max_depth));
    }
    auto left = parse_and(depth);
    if (!left.ok()) return left;
    while (true) {
      const size_t save = pos_;
      skip_space();
      if (pos_ == save && pos_ < text_.size() && text_[pos_] != ')' && text_[pos_] != ']') break;
      if (!keyword("or")) {
        pos_ = save;
        break;
      }
      auto right = parse_and(depth + 1);
      if (!right.ok()) return right;
      auto node = std::make_unique<Filter>();
      node->kind = Filter::Kind::kOr;
      node->children.push_back(std::move(*left));
      node->children.push_back(std::move(*right));
      *left = std::move(node);
    }
    return left;
  }

  StatusOr<std::unique_ptr<Filter>> parse_and(size_t depth) {
    auto left = parse_unary(depth + 1);
    if (!left.ok()) return left;
    while (true) {
      const size_t save = pos_;
      if (!keyword("and")) {
        pos_ = save;
        break;
      }
      auto right = parse_unary(depth + 1);
      if (!right.ok()) return right;
      auto node = std::make_unique<Filter>();
      node->kind = Filter::Kind::kAnd;
      node->children.push_back(std::move(*left));
      node->children.push_back(std::move(*right));
      *left = std::move(node);
    }
    return left;
  }

  StatusOr<std::unique_ptr<Filter>> parse_unary(size_t depth) {
    if (depth > limits_.max_depth) {
      return fail("the filter nests deeper than " + std::to_string(limits_.max_depth));
    }
    skip_space();
    const size_t save = pos_;
    if (keyword("not")) {
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '(') {
        auto inner = group(depth);
        if (!inner.ok()) return inner;
        auto node = std::make_unique<Filter>();
        node->kind = Filter::Kind::kNot;
        node->children.push_back(std::move(*inner));
        return node;
      }
      pos_ = save;  // an attribute named "not..."
    }
    if (pos_ < text_.size() && text_[pos_] == '(') return group(depth);
    return comparison(depth);
  }

  StatusOr<std::unique_ptr<Filter>> group(size_t depth) {
    ++pos_;  // '('
    auto inner = parse_or(depth + 1);
    if (!inner.ok()) return inner;
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != ')') return fail("expected ')'");
    ++pos_;
    return inner;
  }

  StatusOr<std::unique_ptr<Filter>> comparison(size_t depth) {
    auto token = attr_token();
    if (!token.ok()) return token.status();
    auto attr = split_path(*token);
    if (!attr.ok()) return fail(attr.status().message());
    auto node = std::make_unique<Filter>();
    node->attr = std::move(*attr);
    if (pos_ < text_.size() && text_[pos_] == '[') {
      if (!node->attr.sub.empty()) return fail("a value filter follows a multi-valued attribute");
      ++pos_;
      auto inner = parse_or(depth + 1);
      if (!inner.ok()) return inner;
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ']') return fail("expected ']'");
      ++pos_;
      node->kind = Filter::Kind::kValuePath;
      node->children.push_back(std::move(*inner));
      return node;
    }
    if (pos_ >= text_.size() || text_[pos_] != ' ') {
      return fail("expected a space and an operator after '" + *token + "'");
    }
    const std::string op = lower(peek_word());
    static const char* kOps[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};
    if (op == "pr") {
      pos_ += 2;
      node->kind = Filter::Kind::kPresent;
      return node;
    }
    if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps)) {
      return fail(
          "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or pr, got '" + op +
          "'");
    }
    pos_ += 2;
    node->op = op;
    if (pos_ >= text_.size() || text_[pos_] != ' ')
      return fail("expected a space and a value after '" + op + "'");
    skip_space();
    auto value = comp_value();
    if (!value.ok()) return value.status();
    node->value = std::move(*value);
    if ((op == "co" || op == "sw" || op == "ew") && !node->value.is_string()) {
      return fail("'" + op + "' compares with a string");
    }
    if ((op == "gt" || op == "ge" || op == "lt" || op == "le") &&
        (node->value.is_boolean() || node->value.is_null())) {
      return fail("'" + op + "' has no meaning for " + node->value.dump());
    }
    return node;
  }

  StatusOr<json> comp_value() {
    if (pos_ < text_.size() && text_[pos_] == '"') {
      // A JSON string (RFC 7159 escapes), read with the JSON parser.
      size_t end = pos_ + 1;
      while (end < text_.size() && text_[end] != '"') end += text_[end] == '\\' ? 2 : 1;
      if (end >= text_.size()) return fail("unterminated string");
      json value = json::parse(text_.substr(pos_, end - pos_ + 1), nullptr, false);
      if (value.is_discarded()) return fail("not a valid JSON string");
      pos_ = end + 1;
      return value;
    }
    std::string_view word = peek_word();
    size_t end = pos_;
    while (end < text_.size() && text_[end] != ' ' && text_[end] != ')' && text_[end] != ']') ++end;
    word = text_.substr(pos_, end - pos_);
    if (word == "true") {
      pos_ = end;
      return json(true);
    }
    if (word == "false") {
      pos_ = end;
      return json(false);
    }
    if (word == "null") {
      pos_ = end;
      return json(nullptr);
    }
    json number = json::parse(word, nullptr, false);
    if (word.empty() || number.is_discarded() || !number.is_number()) {
      return fail("expected a value (a \"string\", a number, true, false or null), got '" +
                  std::string(word) + "'");
    }
    pos_ = end;
    return number;
  }

  std::string_view text_;
  const FilterLimits& limits_;
  size_t pos_ = 0;
};

std::optional<int64_t> as_time(const json& v) {
  if (!v.is_string()) return std::nullopt;
  google::protobuf::Timestamp t;
  if (!google::protobuf::util::TimeUtil::FromString(v.get<std::string>(), &t)) return std::nullopt;
  return t.seconds() * 1000000000LL + t.nanos();
}

bool compare_one(const std::string& op, const json& actual, const json& expected, bool case_exact) {
  if (op == "eq" || op == "ne") {
    bool equal;
    if (actual.is_string() && expected.is_string()) {
      const auto ta = as_time(actual), te = as_time(expected);
      equal = ta && te
                  ? *ta == *te
                  : (case_exact ? actual == expected
                                : iequals(actual.get<std::string>(), expected.get<std::string>()));
    } else if (actual.is_number() && expected.is_number()) {
      equal = actual.get<double>() == expected.get<double>();
    } else {
      equal = actual == expected;
    }
    return op == "eq" ? equal : !equal;
  }
  if (op == "co" || op == "sw" || op == "ew") {
    if (!actual.is_string()) return false;
    std::string a = actual.get<std::string>(), e = expected.get<std::string>();
    if (!case_exact) {
      a = lower(a);
      e = lower(e);
    }
    if (op == "co") return a.find(e) != std::string::npos;
    if (op == "sw") return a.rfind(e, 0) == 0;
    return a.size() >= e.size() && a.compare(a.size() - e.size(), e.size(), e) == 0;
  }
  // gt ge lt le: strings (dates as instants) and numbers.
  int order;
  if (actual.is_number() && expected.is_number()) {
    order = compare_values(actual, expected, true);
  } else if (actual.is_string() && expected.is_string()) {
    const auto ta = as_time(actual), te = as_time(expected);
    order = ta && te ? (*ta < *te   ? -1
                        : *ta > *te ? 1
                                    : 0)
                     : compare_values(actual, expected, case_exact);
  } else {
    return false;
  }
  if (op == "gt") return order > 0;
  if (op == "ge") return order >= 0;
  if (op == "lt") return order < 0;
  return order <= 0;
}

bool present(const json* v) {
  return v != nullptr && !v->is_null() && !(v->is_string() && v->get<std::string>().empty()) &&
         !(v->is_array() && v->empty()) && !(v->is_object() && v->empty());
}

// The values an attribute path names in `resource`: one for a single-valued attribute, each
// element's (sub-)value for a multi-valued one (a bare multi-valued attribute compares its
// elements' `value`).
std::vector<const json*> values_of(const json& resource, const AttrPath& path) {
  std::vector<const json*> out;
  const json* base = &resource;
  if (!path.schema.empty()) {
    base = find_member(resource, path.schema);
    if (base == nullptr || !base->is_object()) return out;
  }
  const json* v = find_member(*base, path.name);
  if (v == nullptr) return out;
  auto add = [&](const json& item) {
    if (!path.sub.empty()) {
      if (const json* s = item.is_object() ? find_member(item, path.sub) : nullptr)
        out.push_back(s);
    } else if (item.is_object()) {
      if (const json* s = find_member(item, "value")) out.push_back(s);
    } else {
      out.push_back(&item);
    }
  };
  if (v->is_array()) {
    for (const json& item : *v) add(item);
  } else if (!path.sub.empty() || !v->is_object()) {
    add(*v);
  } else {
    out.push_back(v);
  }
  return out;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_char(x) == lower_char(y);
         });
}

std::string AttrPath::text() const {
  std::string out = schema.empty() ? name : schema + ":" + name;
  if (!sub.empty()) out += "." + sub;
  return out;
}

const json* find_member(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (iequals(it.key(), name)) return &it.value();
  }
  return nullptr;
}

json* find_member(json& object, std::string_view name) {
  return const_cast<json*>(find_member(static_cast<const json&>(object), name));
}

const json* resolve(const json& resource, const AttrPath& path) {
  const json* base = &resource;
  if (!path.schema.empty()) base = find_member(resource, path.schema);
  if (base == nullptr) return nullptr;
  const json* v = find_member(*base, path.name);
  if (v == nullptr || path.sub.empty()) return v;
  if (!v->is_object()) return nullptr;
  return find_member(*v, path.sub);
}

bool is_case_exact(const AttrPath& path) {
  if (!path.schema.empty()) return false;
  if (path.sub.empty()) return iequals(path.name, "id") || iequals(path.name, "externalId");
  return iequals(path.name, "meta") && iequals(path.sub, "version");
}

int compare_values(const json& a, const json& b, bool case_exact) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const std::string x = case_exact ? a.get<std::string>() : lower(a.get<std::string>());
    const std::string y = case_exact ? b.get<std::string>() : lower(b.get<std::string>());
    return x.compare(y) < 0 ? -1 : x.compare(y) > 0 ? 1 : 0;
  }
  if (a.is_boolean() && b.is_boolean())
    return a.get<bool>() == b.get<bool>() ? 0 : a.get<bool>() ? 1 : -1;
  return a.is_null() ? (b.is_null() ? 0 : 1) : (b.is_null() ? -1 : 0);
}

StatusOr<std::unique_ptr<Filter>> parse_filter(std::string_view text, const FilterLimits& limits) {
  if (text.size() > limits.max_length) {
    return Status::Error("the filter is " + std::to_string(text.size()) +
                         " characters long, more than the " + std::to_string(limits.max_length) +
                         " accepted");
  }
  if (text.find_first_not_of(' ') == std::string_view::npos)
    return Status::Error("the filter is empty");
  return Parser(text, limits).whole();
}

StatusOr<PatchPath> parse_patch_path(std::string_view text, const FilterLimits& limits) {
  if (text.size() > limits.max_length) return Status::Error("the path is too long");
  return Parser(text, limits).patch_path();
}

StatusOr<AttrPath> parse_attr_path(std::string_view text) { return split_path(text); }

bool matches(const Filter& f, const json& resource) {
  switch (f.kind) {
    case Filter::Kind::kAnd:
      return matches(*f.children[0], resource) && matches(*f.children[1], resource);
    case Filter::Kind::kOr:
      return matches(*f.children[0], resource) || matches(*f.children[1], resource);
    case Filter::Kind::kNot:
      return !matches(*f.children[0], resource);
    case Filter::Kind::kPresent: {
      for (const json* v : values_of(resource, f.attr)) {
        if (present(v)) return true;
      }
      return false;
    }
    case Filter::Kind::kValuePath: {
      const json* base = f.attr.schema.empty() ? &resource : find_member(resource, f.attr.schema);
      const json* v = base == nullptr ? nullptr : find_member(*base, f.attr.name);
      if (v == nullptr) return false;
      if (!v->is_array()) return matches(*f.children[0], *v);
      for (const json& item : *v) {
        if (matches(*f.children[0], item)) return true;
      }
      return false;
    }
    case Filter::Kind::kCompare: {
      const bool exact = is_case_exact(f.attr);
      const auto values = values_of(resource, f.attr);
      if (f.op == "ne") {
        // ne holds when no value equals (RFC 7644 3.4.2.2: a missing attribute is not equal).
        for (const json* v : values) {
          if (!compare_one("ne", *v, f.value, exact)) return false;
        }
        return true;
      }
      for (const json* v : values) {
        if (compare_one(f.op, *v, f.value, exact)) return true;
      }
      return false;
    }
  }
  return false;
}

}  // namespace simpang::plugins::hr_scim
