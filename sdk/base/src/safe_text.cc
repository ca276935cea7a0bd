// Quoting text from peers safely; see simpang/base/safe_text.h.
#include "simpang/base/safe_text.h"

#include <cstdint>

namespace simpang {
namespace {

// The length of the valid UTF-8 sequence starting at text[i], or 0 when there is none.
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) {
    return 1;
  }
  size_t length = 0;
  uint32_t min = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return 0;
  }
  return length;
}

void append_hex(std::string& out, uint8_t byte) {
  constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0F];
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8_sequence(text, i);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string safe_text(std::string_view text, size_t max_input) {
  const bool cut = text.size() > max_input;
  if (cut) {
    text = text.substr(0, max_input);
  }
  std::string out;
  out.reserve(text.size() + (cut ? 3 : 0));
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (lead < 0x20 || lead == 0x7F) {
      append_hex(out, lead);
      ++i;
      continue;
    }
    const size_t length = utf8_sequence(text, i);
    if (length == 0) {
      // Invalid here; a sequence cut by max_input also ends up here, byte by byte.
      append_hex(out, lead);
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are as unreadable as C0 ones.
    if (length == 2 && lead == 0xC2 && static_cast<uint8_t>(text[i + 1]) < 0xA0) {
      append_hex(out, lead);
      append_hex(out, static_cast<uint8_t>(text[i + 1]));
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  if (cut) {
    out += "...";
  }
  return out;
}

}  // namespace simpang
