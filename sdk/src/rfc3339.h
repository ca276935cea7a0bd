// RFC 3339 timestamps for CloudEvents JSON (the `time` attribute and Timestamp attribute values),
// converted to and from google.protobuf.Timestamp. SDK-private.
//
// Why not TimeUtil::FromString/ToString: we want one strict, documented grammar with errors that
// say what is wrong (for the partner who sent it), and a writer that never trips protobuf's debug
// checks on an out-of-range Timestamp.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <string_view>

namespace simpang::sdk::internal {

// Renders `ts` in UTC with a 'Z' suffix and 0, 3, 6 or 9 fraction digits (the fewest that are
// exact), e.g. "2025-01-06T08:00:00Z", "2025-01-06T08:00:00.250Z".
// REQUIRES: `ts` within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z with nanos in
// [0, 1e9) for the text to be valid RFC 3339 again; outside that the output is the same instant
// normalised, or a year outside four digits, which parse_rfc3339 rejects.
std::string format_rfc3339(const google::protobuf::Timestamp& ts);

// Parses RFC 3339 `date-time`: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". 'T' and 'Z' may
// be lower case (RFC 3339 section 5.6 note). Any number of fraction digits is accepted; digits
// past the ninth (below a nanosecond) are dropped. Rejected, with the reason in `*why`: a malformed
// shape, a field out of range (month 13, 30 February, hour 24, minute 60), a leap second (":60",
// which a Timestamp cannot represent) and an instant outside years 0001..9999 once the offset is
// applied.
// OWNERSHIP: `out` and `why` are the caller's; `*out` is unchanged on failure.
bool parse_rfc3339(std::string_view text, google::protobuf::Timestamp* out, std::string* why);

}  // namespace simpang::sdk::internal
