// Text from a peer, made safe to quote: in a log line, in a refusal the peer must be able to read
// (protobuf string fields must be valid UTF-8), or in an error message. Printable UTF-8 is kept as
// it is; control characters, invalid UTF-8 and a backslash are written as \xNN (a backslash as
// \\), so what was sent can still be told apart byte for byte. Long text is cut, marked "...".
//
//   logger->warn("refused peer={}", simpang::safe_text(routing_id));   // "refused peer=\x00k\x8b"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace simpang {

// The most bytes of input safe_text() renders before it cuts (the output may be up to four times
// longer for bytes that need escaping).
inline constexpr size_t kSafeTextMaxInput = 256;

// `text` rendered as described above, with at most `max_input` bytes of it. Thread rule: none.
std::string safe_text(std::string_view text, size_t max_input = kSafeTextMaxInput);

// Whether `text` is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
// Thread rule: none. Never allocates.
bool is_valid_utf8(std::string_view text);

}  // namespace simpang
