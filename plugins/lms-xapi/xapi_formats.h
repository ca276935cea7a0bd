// The value formats xAPI 1.0.3 (Data section, 4.2.7 and the property tables) requires of statement
// properties, as pure functions: IRIs, UUIDs, mailto IRIs, SHA-1 hex sums, RFC 5646 language tags,
// ISO 8601 timestamps and durations, the 1.0.x version. Each answers yes or no; the statement
// validator (xapi_statement.h) words the rule that failed.
//
//   std::optional<int64_t> ms = parse_timestamp("2013-05-18T05:32:34.804+00:00");
//   bool ok = is_duration("PT1H30M") && is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simpang::plugins::lms_xapi {

// An absolute IRI (RFC 3987): a scheme (ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")), ':', then at
// least one character, with no space, control character, '<', '>', '"', '{', '}', '|', '\', '^' or
// '`' anywhere. Non-ASCII (UTF-8) characters are allowed, as IRIs allow them.
bool is_iri(std::string_view text);

// A UUID in its RFC 4122 text form: 8-4-4-4-12 hexadecimal digits (any case, any version).
bool is_uuid(std::string_view text);

// "mailto:" followed by an address with one '@' that has text on both sides and no space.
bool is_mailto(std::string_view text);

// Exactly 40 hexadecimal digits (an mbox_sha1sum).
bool is_sha1_hex(std::string_view text);

// An RFC 5646 language tag, checked by its shape: a primary subtag of 2-8 letters (or the
// private-use "x" / grandfathered "i"), then subtags of 1-8 letters or digits separated by '-'.
bool is_language_tag(std::string_view text);

// An ISO 8601 date-time, YYYY-MM-DDThh:mm[:ss[.fraction]][Z|+hh:mm|-hh:mm|+hhmm|+hh], as
// milliseconds since the Unix epoch (fractions past milliseconds are truncated; no time zone
// reads as UTC). Nullopt for anything else, for out-of-range fields, and for the offset -00:00,
// which xAPI forbids.
std::optional<int64_t> parse_timestamp(std::string_view text);

// `ms` since the Unix epoch as "YYYY-MM-DDThh:mm:ss.sssZ".
std::string format_timestamp(int64_t ms);

// An ISO 8601 duration: P[nY][nM][nW][nD][T[nH][nM][n[.n]S]] with at least one part, a T only
// when a time part follows, and a fraction only on the last part.
bool is_duration(std::string_view text);

// An xAPI version this LRS accepts: "1.0" or "1.0.<digits>".
bool is_version(std::string_view text);

}  // namespace simpang::plugins::lms_xapi
