// Base64 encoding and strict decoding; see base64.h.
#include "base64.h"

#include <array>
#include <cstdint>

namespace simpang::sdk::internal {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) {
    entry = -1;
  }
  for (int i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kDecode = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    const uint32_t n =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

bool base64_decode(std::string_view text, std::string* out, std::string* why) {
  out->clear();
  if (text.size() % 4 != 0) {
    *why = "length " + std::to_string(text.size()) + " is not a multiple of 4";
    return false;
  }
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last_quad = i + 4 == text.size();
    int padding = 0;
    uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Padding may only fill the last one or two places of the final quad.
        if (!last_quad || k < 2) {
          *why = "misplaced '=' at offset " + std::to_string(i + k);
          return false;
        }
        ++padding;
        n <<= 6;
        continue;
      }
      if (padding > 0) {
        *why = "data after '=' at offset " + std::to_string(i + k);
        return false;
      }
      const int8_t v = kDecode[static_cast<uint8_t>(c)];
      if (v < 0) {
        *why = "invalid character at offset " + std::to_string(i + k);
        return false;
      }
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    if ((padding == 1 && (n & 0xff) != 0) || (padding == 2 && (n & 0xffff) != 0)) {
      *why = "non-zero bits after the last byte";
      return false;
    }
    out->push_back(static_cast<char>((n >> 16) & 0xff));
    if (padding < 2) {
      out->push_back(static_cast<char>((n >> 8) & 0xff));
    }
    if (padding < 1) {
      out->push_back(static_cast<char>(n & 0xff));
    }
  }
  return true;
}

}  // namespace simpang::sdk::internal
