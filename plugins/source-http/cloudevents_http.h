// The CloudEvents HTTP protocol binding 1.0 as pure functions: an HTTP request's header fields and
// body in, simpang.v1.Event values or a Problem (naming the attribute or header and the rule
// broken) out. No I/O, no state, so unit tests and the fuzz targets call them directly.
//
//   MappingResult r = map_request(request.headers, request.body, {.max_batch_events = 100});
//   if (const Problem* p = std::get_if<Problem>(&r)) return answer(*p);
//   for (simpang::v1::Event& e : std::get<MappedRequest>(r).events) ...
//
// The three content modes (binding §3), chosen by Content-Type:
//   - application/cloudevents-batch+json: batched mode, a JSON array of structured events.
//   - application/cloudevents+json: structured mode, one CloudEvents JSON object.
//   - anything else (or none): binary mode, the attributes in `ce-*` headers and the body as data.
//     A request with no `ce-` header at all is not taken for a CloudEvent (415).
// Other CloudEvents formats (application/cloudevents+avro, ...) and a charset other than UTF-8
// for the JSON formats are 415.
//
// Binary mode (§3.1): each `ce-NAME` header is the attribute NAME (header names are
// case-insensitive; attribute names are lower-case, so `Ce-Id` is `id`). Values are unquoted
// (RFC 7230 §3.2.6 quoted-strings) and then percent-decoded once (§3.1.3.2); the result must be
// UTF-8 without control characters. Extensions become string attributes: a header cannot say
// whether "42" was an Integer or a String. Content-Type is datacontenttype; a ce-datacontenttype
// header is refused (§3.1.1). The body is text_data when its media type is textual (JSON, +json,
// text/*, XML, +xml, with no charset or a UTF-8 one) and the bytes are valid UTF-8, else
// binary_data; an empty body is no data. The attributes are then read by the SDK's CloudEvents
// reader (simpang/sdk/cloudevents.h), so binary and structured mode apply the same rules.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "problem.h"
#include "simpang/base/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::source_http {

// Header fields in the order received, names as sent (the SDK's http::Request::headers).
using HeaderFields = std::vector<std::pair<std::string, std::string>>;

enum class ContentMode { kBinary, kStructured, kBatch };
const char* content_mode_name(ContentMode mode);  // "binary", "structured", "batch"

inline constexpr char kStructuredMediaType[] = "application/cloudevents+json";
inline constexpr char kBatchMediaType[] = "application/cloudevents-batch+json";

struct MappedRequest {
  ContentMode mode = ContentMode::kBinary;
  std::vector<simpang::v1::Event> events;  // in request order; one for binary and structured
};

// Either the events of the request, or why it is refused (400, 413 or 415).
using MappingResult = std::variant<MappedRequest, Problem>;

struct MappingLimits {
  size_t max_batch_events = 1000;  // a longer batch is 413
};

// The first value of header `name` (case-insensitive), or nullptr.
const std::string* find_header(const HeaderFields& headers, std::string_view name);

// Maps a whole request, choosing the content mode from its Content-Type (see above). Every event
// returned also meets the hub's rules for a published event (simpang/base/event_rules.h).
// Thread rule: a pure function.
MappingResult map_request(const HeaderFields& headers, std::string_view body,
                          const MappingLimits& limits);

// The three modes on their own. REQUIRES (map_binary): the caller has decided on binary mode.
MappingResult map_binary(const HeaderFields& headers, std::string_view body);
MappingResult map_structured(std::string_view body);
MappingResult map_batch(std::string_view body, const MappingLimits& limits);

// A binary-mode header value as the attribute's string: quoted-strings unescaped, then one round
// of percent-decoding. Fails naming the rule: an unterminated quoted-string, '%' not followed by
// two hexadecimal digits, bytes that are not UTF-8 (overlong forms and surrogates included), a
// control character (U+0000-U+001F, U+007F-U+009F).
StatusOr<std::string> decode_header_value(std::string_view raw);

// Whether `content_type` is a media type whose body is text (see above). Parameters other than
// charset are ignored; case-insensitive.
bool is_textual_media_type(std::string_view content_type);

// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

}  // namespace simpang::plugins::source_http
