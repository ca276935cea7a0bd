// The CloudEvents HTTP protocol binding 1.0; see cloudevents_http.h.
#include "cloudevents_http.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "simpang/base/event_rules.h"
#include "simpang/base/safe_text.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::source_http {
namespace {

using simpang::v1::Event;

constexpr char kCePrefix[] = "ce-";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = lower(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// "type/subtype" in lower case, and the charset parameter if there is one.
struct MediaType {
  std::string essence;
  std::optional<std::string> charset;
};

MediaType parse_media_type(std::string_view value) {
  MediaType media;
  size_t semicolon = value.find(';');
  media.essence = ascii_lower(trim(value.substr(0, semicolon)));
  while (semicolon != std::string_view::npos) {
    value.remove_prefix(semicolon + 1);
    semicolon = value.find(';');
    const std::string_view parameter = trim(value.substr(0, semicolon));
    const size_t equals = parameter.find('=');
    if (equals == std::string_view::npos ||
        ascii_lower(trim(parameter.substr(0, equals))) != "charset") {
      continue;
    }
    std::string_view charset = trim(parameter.substr(equals + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    media.charset = ascii_lower(charset);
  }
  return media;
}

bool utf8_charset(const std::optional<std::string>& charset) {
  return !charset || *charset == "utf-8" || *charset == "utf8" || *charset == "us-ascii";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Decodes the code point at s[i], advancing i; false when the bytes there are not well-formed
// UTF-8 (RFC 3629 §4).
bool next_code_point(std::string_view s, size_t& i, uint32_t& code_point) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(i);
  size_t length = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    ++i;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, minimum = 0x80, code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, minimum = 0x800, code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, minimum = 0x10000, code_point = lead & 0x07;
  } else {
    return false;  // a continuation byte, or 0xF8 and above
  }
  if (i + length > s.size()) {
    return false;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return false;
    }
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return false;  // overlong, beyond Unicode, or a surrogate
  }
  i += length;
  return true;
}

// "U+001F" for 0x1F.
std::string code_point_name(uint32_t code_point) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name = "U+";
  for (int shift = 12; shift >= 0; shift -= 4) {
    name.push_back(kHex[(code_point >> shift) & 0xF]);
  }
  return name;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower(c);
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// RFC 7230 §3.2.6: every quoted-string in `raw` replaced by its content, backslash escapes
// resolved. Text outside quotes is kept as it is.
StatusOr<std::string> unquote(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '"') {
      out.push_back(raw[i++]);
      continue;
    }
    const size_t open = i++;
    while (i < raw.size() && raw[i] != '"') {
      if (raw[i] == '\\') {
        if (i + 1 >= raw.size()) {
          return Status::Error("a backslash ends the value inside a quoted-string");
        }
        ++i;
      }
      out.push_back(raw[i++]);
    }
    if (i >= raw.size()) {
      return Status::Error("the quoted-string opened at offset " + std::to_string(open) +
                           " is not closed");
    }
    ++i;  // the closing quote
  }
  return out;
}

// A message that may quote a request's bytes (a parser's "last read: ..."), made valid UTF-8 for a
// problem's detail; text that already is one is kept as it is.
std::string readable(const std::string& message) {
  return simpang::is_valid_utf8(message) ? message : simpang::safe_text(message, message.size());
}

Problem invalid_attribute(std::string attribute, std::string detail) {
  Problem p = Problem::make(400, "invalid-attribute", "Invalid CloudEvents attribute",
                            std::move(detail));
  p.attribute = std::move(attribute);
  return p;
}

// A failure of the SDK's CloudEvents reader, as a problem; `where` says which mode and event.
Problem reader_problem(const std::string& where, const std::string& message,
                       std::string_view document, bool syntax_checked) {
  std::string attribute = attribute_named_in(message);
  if (!attribute.empty()) {
    return invalid_attribute(std::move(attribute), where + readable(message));
  }
  if (!syntax_checked && !nlohmann::json::accept(document)) {
    return Problem::make(400, "malformed-json", "Malformed JSON", where + readable(message));
  }
  return Problem::make(400, "not-an-event", "Not a CloudEvent", where + readable(message));
}

// The hub refuses what these rules refuse; checked here so that nothing of a request is
// published unless all of it will be accepted.
std::optional<Problem> check_hub_rules(const Event& event, const std::string& where) {
  const Status status =
      check_event_attributes(event.id(), event.source(), event.type(), event.spec_version());
  if (status.ok()) {
    return std::nullopt;
  }
  // The attribute from the event, in the rules' documented order (id, source, type present, then
  // specversion, then the type's syntax): the messages of the last two quote a value instead of
  // naming the attribute, and a quoted id may itself hold "attribute '...'".
  const char* attribute = event.id().empty()                                ? "id"
                          : event.source().empty()                          ? "source"
                          : event.type().empty()                            ? "type"
                          : event.spec_version() != kCloudEventsSpecVersion ? "specversion"
                                                                            : "type";
  return invalid_attribute(attribute, where + status.message());
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_json_space(s[i])) {
    ++i;
  }
  return i;
}

// REQUIRES: s[i] == '"' and s is valid JSON. Returns the index just past the closing quote.
size_t skip_string(std::string_view s, size_t i) {
  ++i;
  while (i < s.size() && s[i] != '"') {
    i += s[i] == '\\' ? 2 : 1;
  }
  return i + 1;
}

// REQUIRES: s is valid JSON and s[i] starts a value. Returns the index just past it.
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
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && !is_json_space(s[i])) {
    ++i;  // a number or a literal
  }
  return i;
}

const char* json_kind(char first) {
  switch (first) {
    case '{':
      return "an object";
    case '"':
      return "a string";
    case 't':
    case 'f':
      return "a boolean";
    case 'n':
      return "null";
    default:
      return "a number";
  }
}

// The text of each element of the top-level array, or a problem when the document is not an
// array. REQUIRES: `s` is valid JSON (nlohmann::json::accept), so the scan needs no checks.
std::variant<std::vector<std::string_view>, Problem> array_elements(std::string_view s) {
  size_t i = starts_with(s, "\xEF\xBB\xBF") ? 3 : 0;  // a byte order mark, as the parser allows
  i = skip_space(s, i);
  if (i >= s.size() || s[i] != '[') {
    return Problem::make(400, "not-a-batch", "Not a CloudEvents batch",
                         std::string("batched mode: the body must be a JSON array of CloudEvents, "
                                     "got ") +
                             json_kind(i < s.size() ? s[i] : '0'));
  }
  std::vector<std::string_view> elements;
  i = skip_space(s, i + 1);
  while (i < s.size() && s[i] != ']') {
    const size_t begin = i;
    i = skip_value(s, i);
    elements.push_back(s.substr(begin, i - begin));
    i = skip_space(s, i);
    if (i < s.size() && s[i] == ',') {
      i = skip_space(s, i + 1);
    }
  }
  return elements;
}

// nlohmann's message for a syntax error, without its "[json.exception.parse_error.101] " prefix.
std::string syntax_error(std::string_view text) {
  try {
    // Only called for text the parser refused, so this throws.
    const nlohmann::json parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    const std::string what = e.what();
    const size_t close = what.find("] ");
    return readable(close == std::string::npos ? what : what.substr(close + 2));
  }
  return "not valid JSON";
}

Problem unsupported_media_type(std::string detail) {
  Problem p = Problem::make(415, "unsupported-media-type", "Unsupported Content-Type",
                            std::move(detail));
  p.extra["accepted"] = {kStructuredMediaType, kBatchMediaType,
                         "binary mode: ce-* headers with any Content-Type"};
  return p;
}

std::string shown(const std::string* content_type) {
  return content_type == nullptr ? std::string("no Content-Type")
                                 : "Content-Type '" + simpang::safe_text(*content_type) + "'";
}

}  // namespace

const char* content_mode_name(ContentMode mode) {
  switch (mode) {
    case ContentMode::kBinary:
      return "binary";
    case ContentMode::kStructured:
      return "structured";
    case ContentMode::kBatch:
      return "batch";
  }
  return "unknown";
}

const std::string* find_header(const HeaderFields& headers, std::string_view name) {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) {
      return &value;
    }
  }
  return nullptr;
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  uint32_t code_point = 0;
  while (i < bytes.size()) {
    if (!next_code_point(bytes, i, code_point)) {
      return false;
    }
  }
  return true;
}

StatusOr<std::string> decode_header_value(std::string_view raw) {
  StatusOr<std::string> unquoted = unquote(raw);
  if (!unquoted.ok()) {
    return unquoted.status();
  }
  const std::string& text = *unquoted;
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    const bool two_follow = i + 2 < text.size();
    const int high = two_follow ? hex_value(text[i + 1]) : -1;
    const int low = two_follow ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return Status::Error("'%' at offset " + std::to_string(i) +
                           " is not followed by two hexadecimal digits (percent-encode a "
                           "literal '%' as %25)");
    }
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  size_t i = 0;
  uint32_t code_point = 0;
  while (i < decoded.size()) {
    const size_t at = i;
    if (!next_code_point(decoded, i, code_point)) {
      return Status::Error("the decoded value is not UTF-8 (at byte " + std::to_string(at) +
                           "; overlong forms such as %C0%A0 are refused)");
    }
    if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) {
      return Status::Error("the decoded value holds a control character (" +
                           code_point_name(code_point) + " at byte " + std::to_string(at) + ")");
    }
  }
  return decoded;
}

bool is_textual_media_type(std::string_view content_type) {
  const MediaType media = parse_media_type(content_type);
  if (!utf8_charset(media.charset)) {
    return false;  // text, but not in UTF-8: kept as the bytes it is
  }
  const size_t slash = media.essence.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  const std::string_view type = std::string_view(media.essence).substr(0, slash);
  const std::string_view subtype = std::string_view(media.essence).substr(slash + 1);
  return type == "text" || (type == "application" && (subtype == "json" || subtype == "xml")) ||
         ends_with(subtype, "+json") || ends_with(subtype, "+xml");
}

MappingResult map_binary(const HeaderFields& headers, std::string_view body) {
  nlohmann::json attributes = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    if (name.size() < 3 || !iequals(std::string_view(name).substr(0, 3), kCePrefix)) {
      continue;
    }
    const std::string attribute = ascii_lower(std::string_view(name).substr(3));
    const std::string header = kCePrefix + attribute;
    const bool valid_name = !attribute.empty() && std::all_of(attribute.begin(), attribute.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    });
    if (!valid_name) {
      return Problem::make(400, "invalid-header", "Invalid CloudEvents header",
                           "binary mode: header '" + simpang::safe_text(name) +
                               "' does not name a CloudEvents attribute (after 'ce-', lower-case "
                               "letters a-z and digits 0-9 only)");
    }
    if (attribute == "datacontenttype") {
      return invalid_attribute(attribute,
                               "binary mode: header ce-datacontenttype is not allowed; "
                               "Content-Type carries datacontenttype (HTTP binding §3.1.1)");
    }
    if (attribute == "data") {
      return invalid_attribute(attribute,
                               "binary mode: header ce-data is not allowed; the request body is "
                               "the data");
    }
    if (attributes.contains(attribute)) {
      return invalid_attribute(attribute, "binary mode: header " + header +
                                              " appears more than once; an attribute has one "
                                              "value");
    }
    StatusOr<std::string> decoded = decode_header_value(value);
    if (!decoded.ok()) {
      return invalid_attribute(attribute, "binary mode: header " + header + ": " +
                                              decoded.status().message() +
                                              " (HTTP binding §3.1.3.2)");
    }
    attributes[attribute] = std::move(*decoded);
  }
  const std::string* content_type = find_header(headers, "content-type");
  if (content_type != nullptr && !trim(*content_type).empty()) {
    if (!is_valid_utf8(*content_type)) {
      return invalid_attribute("datacontenttype",
                               "binary mode: header Content-Type (datacontenttype) is not UTF-8 "
                               "text");
    }
    attributes["datacontenttype"] = std::string(trim(*content_type));
  }

  // The SDK's reader applies the attribute rules (required ones, specversion, time, names), so
  // binary and structured mode refuse the same events in the same words.
  const std::string document =
      attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  StatusOr<Event> event = simpang::sdk::from_cloudevents_json(document);
  if (!event.ok()) {
    const std::string message = event.status().message();
    std::string attribute = attribute_named_in(message);
    const std::string header =
        attribute == "datacontenttype" ? "Content-Type" : kCePrefix + attribute;
    return invalid_attribute(attribute, "binary mode: " + readable(message) +
                                            (attribute.empty() ? "" : " (header " + header + ")"));
  }
  if (!body.empty()) {
    if (content_type != nullptr && is_textual_media_type(*content_type) && is_valid_utf8(body)) {
      event->set_text_data(std::string(body));
    } else {
      event->set_binary_data(std::string(body));
    }
  }
  if (auto problem = check_hub_rules(*event, "binary mode: ")) {
    return *problem;
  }
  MappedRequest mapped;
  mapped.mode = ContentMode::kBinary;
  mapped.events.push_back(std::move(*event));
  return mapped;
}

MappingResult map_structured(std::string_view body) {
  StatusOr<Event> event = simpang::sdk::from_cloudevents_json(body);
  if (!event.ok()) {
    return reader_problem("structured mode: ", event.status().message(), body, false);
  }
  if (auto problem = check_hub_rules(*event, "structured mode: ")) {
    return *problem;
  }
  MappedRequest mapped;
  mapped.mode = ContentMode::kStructured;
  mapped.events.push_back(std::move(*event));
  return mapped;
}

MappingResult map_batch(std::string_view body, const MappingLimits& limits) {
  if (!nlohmann::json::accept(body)) {
    return Problem::make(400, "malformed-json", "Malformed JSON",
                         "batched mode: the body is not valid JSON: " + syntax_error(body));
  }
  auto elements = array_elements(body);
  if (Problem* problem = std::get_if<Problem>(&elements)) {
    return std::move(*problem);
  }
  const auto& texts = std::get<std::vector<std::string_view>>(elements);
  if (texts.size() > limits.max_batch_events) {
    Problem p = Problem::make(413, "batch-too-large", "Batch too large",
                              "batched mode: " + std::to_string(texts.size()) +
                                  " events, more than max_batch_events (" +
                                  std::to_string(limits.max_batch_events) + ")");
    p.extra["max_batch_events"] = limits.max_batch_events;
    return p;
  }
  MappedRequest mapped;
  mapped.mode = ContentMode::kBatch;
  mapped.events.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string where = "batched mode: event " + std::to_string(i) + ": ";
    StatusOr<Event> event = simpang::sdk::from_cloudevents_json(texts[i]);
    if (!event.ok()) {
      Problem p = reader_problem(where, event.status().message(), texts[i], true);
      p.index = i;
      return p;
    }
    if (auto problem = check_hub_rules(*event, where)) {
      problem->index = i;
      return *problem;
    }
    mapped.events.push_back(std::move(*event));
  }
  return mapped;
}

MappingResult map_request(const HeaderFields& headers, std::string_view body,
                          const MappingLimits& limits) {
  const std::string* content_type = find_header(headers, "content-type");
  const MediaType media = parse_media_type(content_type != nullptr ? *content_type : "");
  const bool batch = starts_with(media.essence, "application/cloudevents-batch");
  if (batch || starts_with(media.essence, "application/cloudevents")) {
    const char* expected = batch ? kBatchMediaType : kStructuredMediaType;
    if (media.essence != expected) {
      return unsupported_media_type(shown(content_type) +
                                    ": a CloudEvents format this endpoint does not read; it reads " +
                                    expected);
    }
    if (!utf8_charset(media.charset)) {
      return unsupported_media_type(shown(content_type) + ": JSON is read as UTF-8 only (RFC 8259)");
    }
    return batch ? map_batch(body, limits) : map_structured(body);
  }
  for (const auto& [name, value] : headers) {
    if (name.size() >= 3 && iequals(std::string_view(name).substr(0, 3), kCePrefix)) {
      return map_binary(headers, body);
    }
  }
  return unsupported_media_type(
      shown(content_type) +
      " and no ce- headers: not a CloudEvents request. Send application/cloudevents+json "
      "(structured), application/cloudevents-batch+json (batched), or ce-* headers with the "
      "data's own Content-Type (binary)");
}

}  // namespace simpang::plugins::source_http
