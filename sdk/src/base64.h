// Base64 (RFC 4648 section 4, the standard alphabet with padding) for CloudEvents JSON: the
// `data_base64` member and Binary attribute values. SDK-private.
#pragma once

#include <string>
#include <string_view>

namespace simpang::sdk::internal {

// Encodes `bytes` with the standard alphabet and '=' padding.
std::string base64_encode(std::string_view bytes);

// Decodes canonical padded base64 into `*out`. Returns false, with the reason in `*why`, for
// anything else: a character outside the alphabet (whitespace included), a length that is not a
// multiple of four, misplaced padding, or non-zero bits after the last byte. Rejecting the
// non-canonical spellings keeps decode(x) unique, so an event re-encodes to the same text.
// OWNERSHIP: `out` and `why` are the caller's; `*out` is unspecified on failure.
bool base64_decode(std::string_view text, std::string* out, std::string* why);

}  // namespace simpang::sdk::internal
