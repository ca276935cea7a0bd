// CloudEvents 1.0 JSON event format (structured mode) for simpang.v1.Event, and protobuf-JSON data
// helpers; see simpang/sdk/cloudevents.h for the mapping.
//
// Round trip. from_cloudevents_json(to_cloudevents_json(e)) == e for every event whose attributes
// are valid CloudEvents (required attributes set, spec_version "1.0", extension names [a-z0-9]+ and
// not one of the named attributes, timestamps in range), with these exceptions, each forced by the
// JSON format itself:
//   - proto_data is written as data_base64 of the Any's bytes and reads back as binary_data (the
//     JSON format has no place for the Any's type besides dataschema, and dataschema is not
//     reserved for it). One-way by design.
//   - Extension values of type Binary, URI, URI-reference and Timestamp are JSON strings in this
//     format, so they read back as String with the same canonical text (CloudEvents defines the
//     canonical string form as the comparison anyway). Boolean, Integer and String round-trip.
//   - JSON data (text_data under a JSON content type) is written verbatim when it is one line
//     without surrounding whitespace or a byte order mark, which is what set_json_data produces;
//     otherwise it is the same JSON value re-serialised compactly. Text that claims a JSON
//     content type but is not JSON is written as a JSON string, which a reader (rightly) takes for
//     a JSON string value.
//   - An empty spec_version is written as "1.0", as Context::emit fills it.
#include "simpang/sdk/cloudevents.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "base64.h"
#include "rfc3339.h"
#include "simpang/base/event_rules.h"

namespace simpang::sdk {
namespace {

using nlohmann::json;
using simpang::v1::AttributeValue;
using simpang::v1::Event;

constexpr std::string_view kSpecVersion = "1.0";

// Attribute names with a field of their own in Event (or data members), which an extension may not
// take.
const std::set<std::string, std::less<>>& reserved_names() {
  static const std::set<std::string, std::less<>> names = {
      "specversion",     "id",         "source", "type",       "subject", "time",
      "datacontenttype", "dataschema", "data",   "data_base64"};
  return names;
}

bool valid_attribute_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// "application/json" or any "+json" subtype, ignoring case and parameters (";charset=utf-8").
bool is_json_content_type(std::string_view content_type) {
  std::string media = ascii_lower(content_type.substr(0, content_type.find(';')));
  const auto not_space = [](char c) { return c != ' ' && c != '\t'; };
  media.erase(media.begin(), std::find_if(media.begin(), media.end(), not_space));
  media.erase(std::find_if(media.rbegin(), media.rend(), not_space).base(), media.end());
  const size_t slash = media.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  const std::string_view type = std::string_view(media).substr(0, slash);
  const std::string_view subtype = std::string_view(media).substr(slash + 1);
  return (type == "application" && subtype == "json") ||
         (subtype.size() > 5 && subtype.substr(subtype.size() - 5) == "+json");
}

// JSON text of a string. Invalid UTF-8 (which proto3 strings should never hold) is replaced rather
// than thrown on, because rendering must not fail.
std::string quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// How text_data goes into `data`: verbatim when that is safe on one line, else the value
// re-serialised, else (not JSON at all) a string.
std::string json_data_member(const std::string& text) {
  if (!json::accept(text)) {
    return quote(text);
  }
  // The parser also skips a leading byte order mark, which must not land inside our object.
  const bool bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  const bool one_line = text.find_first_of("\r\n") == std::string::npos;
  if (one_line && !bom && !is_json_space(text.front()) && !is_json_space(text.back())) {
    return text;
  }
  return nlohmann::ordered_json::parse(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string extension_value(const AttributeValue& value) {
  switch (value.attr_case()) {
    case AttributeValue::kCeBoolean:
      return value.ce_boolean() ? "true" : "false";
    case AttributeValue::kCeInteger:
      return std::to_string(value.ce_integer());
    case AttributeValue::kCeString:
      return quote(value.ce_string());
    case AttributeValue::kCeBytes:
      return quote(internal::base64_encode(value.ce_bytes()));
    case AttributeValue::kCeUri:
      return quote(value.ce_uri());
    case AttributeValue::kCeUriRef:
      return quote(value.ce_uri_ref());
    case AttributeValue::kCeTimestamp:
      return quote(internal::format_rfc3339(value.ce_timestamp()));
    case AttributeValue::ATTR_NOT_SET:
      break;
  }
  return {};
}

// ---- Reading ------------------------------------------------------------------------------------

// One member of the top-level object, with where its value sits in the input text.
struct Member {
  std::string name;
  size_t value_begin = 0;
  size_t value_end = 0;
};

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_json_space(s[i])) {
    ++i;
  }
  return i;
}

// REQUIRES: s[i] == '"'. Returns the index after the closing quote.
size_t skip_string(std::string_view s, size_t i) {
  ++i;
  while (i < s.size() && s[i] != '"') {
    i += s[i] == '\\' ? 2 : 1;
  }
  return i + 1;
}

size_t skip_value(std::string_view s, size_t i) {
  if (s[i] == '"') {
    return skip_string(s, i);
  }
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          return i + 1;
        }
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_json_space(s[i])) {
    ++i;
  }
  return i;
}

// Lists the members of the top-level object in document order. nlohmann's DOM folds duplicate
// names and forgets where a value was; we need both (duplicates are an error, and JSON data is
// kept as the exact text the sender wrote, e.g. large integers and number spellings).
// REQUIRES: `s` is a JSON object (already validated by the parser).
std::vector<Member> top_level_members(std::string_view s) {
  std::vector<Member> members;
  size_t i = 0;
  if (s.substr(0, 3) == "\xEF\xBB\xBF") {
    i = 3;  // a UTF-8 byte order mark, which the parser also skips
  }
  i = skip_space(s, i) + 1;  // '{'
  while (true) {
    i = skip_space(s, i);
    if (i >= s.size() || s[i] == '}') {
      break;
    }
    const size_t name_begin = i;
    i = skip_string(s, i);
    const std::string_view token = s.substr(name_begin, i - name_begin);
    Member member;
    if (token.find('\\') == std::string_view::npos) {
      member.name = std::string(token.substr(1, token.size() - 2));
    } else {
      const json name = json::parse(token, nullptr, /*allow_exceptions=*/false);
      member.name = name.is_string() ? name.get<std::string>() : std::string(token);
    }
    i = skip_space(s, i) + 1;  // ':'
    i = skip_space(s, i);
    member.value_begin = i;
    i = skip_value(s, i);
    member.value_end = i;
    members.push_back(std::move(member));
    i = skip_space(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
    }
  }
  return members;
}

const char* json_type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

Status attribute_error(std::string_view name, std::string_view problem) {
  return Status::Error("attribute '" + std::string(name) + "': " + std::string(problem));
}

// Reads a string attribute that, when present, must be a non-empty string. Absent and null leave
// `*out` empty; `required` turns absence into an error.
Status read_string(const json& doc, std::string_view name, bool required, std::string* out) {
  const auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) {
    return required ? attribute_error(name, "missing (required)") : Status::Ok();
  }
  if (!it->is_string()) {
    return attribute_error(name, std::string("must be a string, got ") + json_type_name(*it));
  }
  if (it->get_ref<const std::string&>().empty()) {
    return attribute_error(name, "must not be an empty string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

Status read_extension(std::string_view name, const json& value, Event* event) {
  if (!valid_attribute_name(name)) {
    return attribute_error(
        name,
        "invalid extension name: CloudEvents attribute names use only lower-case "
        "letters a-z and digits 0-9");
  }
  AttributeValue attr;
  switch (value.type()) {
    case json::value_t::null:
      return Status::Ok();  // the JSON format treats a null attribute as absent
    case json::value_t::boolean:
      attr.set_ce_boolean(value.get<bool>());
      break;
    case json::value_t::string:
      attr.set_ce_string(value.get<std::string>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: {
      // CloudEvents' Integer is signed 32-bit; 3.0 is still the integer 3.
      constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
      constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
      bool fits = false;
      int64_t n = 0;
      if (value.is_number_unsigned()) {
        fits = value.get<uint64_t>() <= static_cast<uint64_t>(kMax);
        n = fits ? static_cast<int64_t>(value.get<uint64_t>()) : 0;
      } else if (value.is_number_integer()) {
        n = value.get<int64_t>();
        fits = n >= kMin && n <= kMax;
      } else {
        const double d = value.get<double>();
        fits = d >= kMin && d <= kMax && d == std::trunc(d);
        n = fits ? static_cast<int64_t>(d) : 0;
      }
      if (!fits) {
        return attribute_error(
            name, "number " + value.dump() + " is not a CloudEvents Integer (signed 32-bit)");
      }
      attr.set_ce_integer(static_cast<int32_t>(n));
      break;
    }
    default:
      return attribute_error(
          name, std::string("must be a boolean, number or string, got ") + json_type_name(value));
  }
  (*event->mutable_extensions())[std::string(name)] = std::move(attr);
  return Status::Ok();
}

// Strips nlohmann's "[json.exception.parse_error.101] " prefix; the rest reads well on its own.
std::string parse_error_text(const std::string& what) {
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

}  // namespace

std::string to_cloudevents_json(const Event& event) {
  std::string out = "{";
  bool first = true;
  const auto member = [&](std::string_view name, const std::string& value_json) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append(quote(name)).push_back(':');
    out.append(value_json);
  };
  const auto optional_string = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) {
      member(name, quote(value));
    }
  };

  member("specversion", quote(event.spec_version().empty() ? kSpecVersion : event.spec_version()));
  member("id", quote(event.id()));
  member("source", quote(event.source()));
  member("type", quote(event.type()));
  optional_string("subject", event.subject());
  if (event.has_time()) {
    member("time", quote(internal::format_rfc3339(event.time())));
  }
  optional_string("datacontenttype", event.data_content_type());
  if (!event.data_schema().empty()) {
    member("dataschema", quote(event.data_schema()));
  } else if (event.data_case() == Event::kProtoData && !event.proto_data().type_url().empty()) {
    member("dataschema", quote(event.proto_data().type_url()));
  }

  // Sorted, so that the same event always renders to the same text (protobuf maps are unordered).
  std::vector<std::pair<std::string_view, const AttributeValue*>> extensions;
  extensions.reserve(event.extensions().size());
  for (const auto& [name, value] : event.extensions()) {
    // A context attribute cannot be overridden through an extension; its own field wins.
    if (reserved_names().count(name) == 0 && value.attr_case() != AttributeValue::ATTR_NOT_SET) {
      extensions.emplace_back(name, &value);
    }
  }
  std::sort(extensions.begin(), extensions.end());
  for (const auto& [name, value] : extensions) {
    member(name, extension_value(*value));
  }

  switch (event.data_case()) {
    case Event::kTextData:
      member("data", is_json_content_type(event.data_content_type())
                         ? json_data_member(event.text_data())
                         : quote(event.text_data()));
      break;
    case Event::kBinaryData:
      member("data_base64", quote(internal::base64_encode(event.binary_data())));
      break;
    case Event::kProtoData:
      member("data_base64", quote(internal::base64_encode(event.proto_data().value())));
      break;
    case Event::DATA_NOT_SET:
      break;
  }
  out.push_back('}');
  return out;
}

StatusOr<Event> from_cloudevents_json(std::string_view text) {
  // Bounded before the parser sees it: a document nested a million deep must cost a scan, not a
  // tree that deep (and its recursive destruction).
  if (Status depth = check_json_depth(text, EventLimits{}.max_json_depth); !depth.ok()) {
    return Status::Error("not usable JSON: " + depth.message());
  }
  json doc;
  // nlohmann reports the position and cause of a syntax error only through its exception; it is
  // caught right here and never leaves this function.
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return Status::Error("not valid JSON: " + parse_error_text(e.what()));
  } catch (const json::exception& e) {
    // Valid syntax the parser still refuses, such as a number beyond a double ("1e999").
    return Status::Error(std::string("not usable JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    return Status::Error(std::string("not a CloudEvents JSON object: the document is ") +
                         json_type_name(doc));
  }
  const std::vector<Member> members = top_level_members(text);
  std::set<std::string_view> seen;
  for (const Member& m : members) {
    if (!seen.insert(m.name).second) {
      return attribute_error(m.name, "appears more than once");
    }
  }

  Event event;
  std::string spec_version;
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "specversion", true, &spec_version));
  if (spec_version != kSpecVersion) {
    return attribute_error("specversion",
                           "unsupported version '" + spec_version + "', expected '1.0'");
  }
  event.set_spec_version(spec_version);
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "id", true, event.mutable_id()));
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "source", true, event.mutable_source()));
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "type", true, event.mutable_type()));
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "subject", false, event.mutable_subject()));
  SIMPANG_RETURN_IF_ERROR(
      read_string(doc, "datacontenttype", false, event.mutable_data_content_type()));
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "dataschema", false, event.mutable_data_schema()));

  std::string time_text;
  SIMPANG_RETURN_IF_ERROR(read_string(doc, "time", false, &time_text));
  if (!time_text.empty()) {
    std::string why;
    if (!internal::parse_rfc3339(time_text, event.mutable_time(), &why)) {
      return attribute_error("time",
                             "not an RFC 3339 timestamp: '" + time_text + "' (" + why + ")");
    }
  }

  const auto data = doc.find("data");
  const auto data_base64 = doc.find("data_base64");
  const bool json_content = is_json_content_type(event.data_content_type());
  // Under a JSON content type `data: null` is the JSON value null; otherwise null means absent.
  const bool has_data = data != doc.end() && (json_content || !data->is_null());
  const bool has_data_base64 = data_base64 != doc.end() && !data_base64->is_null();
  if (has_data && has_data_base64) {
    return Status::Error(
        "attributes 'data' and 'data_base64': both present; an event carries at most one");
  }
  if (has_data_base64) {
    if (!data_base64->is_string()) {
      return attribute_error("data_base64",
                             std::string("must be a string, got ") + json_type_name(*data_base64));
    }
    std::string why;
    if (!internal::base64_decode(data_base64->get_ref<const std::string&>(),
                                 event.mutable_binary_data(), &why)) {
      return attribute_error("data_base64", "not valid base64 (" + why + ")");
    }
  }
  for (const Member& m : members) {
    if (m.name == "data") {
      // Under a JSON content type `data` is a JSON value and text_data is its exact text.
      // Otherwise a string is the text itself.
      const std::string_view raw = text.substr(m.value_begin, m.value_end - m.value_begin);
      if (!json_content && data->is_string()) {
        event.set_text_data(data->get<std::string>());
      } else if (has_data) {
        event.set_text_data(std::string(raw));
      }
    } else if (reserved_names().count(m.name) == 0) {
      SIMPANG_RETURN_IF_ERROR(read_extension(m.name, *doc.find(m.name), &event));
    }
  }
  return event;
}

void set_json_data(Event& event, const google::protobuf::Message& message) {
  std::string text;
  const auto status = google::protobuf::util::MessageToJsonString(message, &text);
  if (status.ok()) {
    event.set_text_data(std::move(text));
    event.set_data_content_type("application/json");
  } else {
    // Only a message holding an Any of a type unknown to this process fails to print. Carrying it
    // as protobuf keeps the data rather than emitting an event without it.
    event.mutable_proto_data()->PackFrom(message);
    event.set_data_content_type("application/protobuf");
  }
  event.set_data_schema("proto:" + message.GetDescriptor()->full_name());
}

Status get_json_data(const Event& event, google::protobuf::Message& message) {
  const std::string& full_name = message.GetDescriptor()->full_name();
  switch (event.data_case()) {
    case Event::kTextData:
      break;
    case Event::kBinaryData:
      return Status::Error("event '" + event.id() + "': data is binary, not JSON text (expected " +
                           full_name + ")");
    case Event::kProtoData:
      return Status::Error("event '" + event.id() +
                           "': data is a protobuf Any, not JSON text (expected " + full_name + ")");
    case Event::DATA_NOT_SET:
      return Status::Error("event '" + event.id() + "': has no data (expected " + full_name + ")");
  }
  // A "proto:" schema names the message the data was made from; parsing a Person as a Completion
  // with unknown fields ignored would otherwise "succeed" with an empty message.
  constexpr std::string_view kProtoScheme = "proto:";
  const std::string& schema = event.data_schema();
  if (schema.rfind(kProtoScheme, 0) == 0 && schema.substr(kProtoScheme.size()) != full_name) {
    return Status::Error("event '" + event.id() + "': dataschema '" + schema + "' is not " +
                         full_name);
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status =
      google::protobuf::util::JsonStringToMessage(event.text_data(), &message, options);
  if (!status.ok()) {
    return Status::Error("event '" + event.id() + "': data is not a " + full_name +
                         " in JSON: " + std::string(status.message()));
  }
  return Status::Ok();
}

}  // namespace simpang::sdk
