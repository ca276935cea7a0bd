#include "identity.h"

#include <algorithm>
#include <set>

namespace simpang::plugins::talent_ledger {
namespace {

// Decodes UTF-8 strictly (no overlongs, no surrogates); false on bad input.
bool decode_utf8(std::string_view s, std::vector<char32_t>& out) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out.push_back(cp);
    i += len;
  }
  return true;
}

void encode_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;    // Latin-1
  if (c >= 0x100 && c <= 0x137 && c % 2 == 0) return c + 1;  // Latin Extended-A, pairs
  if (c >= 0x139 && c <= 0x148 && c % 2 == 1) return c + 1;
  if (c >= 0x14A && c <= 0x177 && c % 2 == 0) return c + 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E && c % 2 == 1) return c + 1;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek
  if (c == 0x3C2) return 0x3C3;                               // final sigma
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

// Lowercase base letter + combining mark -> precomposed Latin-1 letter, or 0.
char32_t compose(char32_t base, char32_t mark) {
  struct Entry {
    char base;
    char32_t mark;
    char32_t composed;
  };
  static const Entry kTable[] = {
      {'a', 0x300, 0xE0}, {'a', 0x301, 0xE1}, {'a', 0x302, 0xE2}, {'a', 0x303, 0xE3},
      {'a', 0x308, 0xE4}, {'a', 0x30A, 0xE5}, {'c', 0x327, 0xE7}, {'e', 0x300, 0xE8},
      {'e', 0x301, 0xE9}, {'e', 0x302, 0xEA}, {'e', 0x308, 0xEB}, {'i', 0x300, 0xEC},
      {'i', 0x301, 0xED}, {'i', 0x302, 0xEE}, {'i', 0x308, 0xEF}, {'n', 0x303, 0xF1},
      {'o', 0x300, 0xF2}, {'o', 0x301, 0xF3}, {'o', 0x302, 0xF4}, {'o', 0x303, 0xF5},
      {'o', 0x308, 0xF6}, {'u', 0x300, 0xF9}, {'u', 0x301, 0xFA}, {'u', 0x302, 0xFB},
      {'u', 0x308, 0xFC}, {'y', 0x301, 0xFD}, {'y', 0x308, 0xFF},
  };
  for (const Entry& e : kTable) {
    if (static_cast<char32_t>(e.base) == base && e.mark == mark) return e.composed;
  }
  return 0;
}

bool is_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 ||
         c == 0xFEFF || c == 0x200B;
}

bool looks_hashed(const std::string& v) {
  if (v.size() < 32) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

}  // namespace

std::optional<std::string> normalise_email(std::string_view email) {
  std::vector<char32_t> cps;
  if (!decode_utf8(email, cps)) return std::nullopt;
  size_t b = 0, e = cps.size();
  while (b < e && is_space(cps[b])) ++b;
  while (e > b && is_space(cps[e - 1])) --e;
  std::vector<char32_t> out;
  for (size_t i = b; i < e; ++i) {
    const char32_t c = fold(cps[i]);
    if (!out.empty()) {
      if (char32_t composed = compose(out.back(), c)) {
        out.back() = composed;
        continue;
      }
    }
    out.push_back(c);
  }
  if (std::count(out.begin(), out.end(), U'@') != 1) return std::nullopt;
  const auto at = std::find(out.begin(), out.end(), U'@');
  if (at == out.begin() || at + 1 == out.end()) return std::nullopt;
  if (std::any_of(out.begin(), out.end(), is_space)) return std::nullopt;
  std::string s;
  for (char32_t c : out) encode_utf8(c, s);
  return s;
}

bool system_matches(std::string_view pattern, std::string_view system) {
  if (!pattern.empty() && pattern.back() == '*') {
    return system.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return pattern == system;
}

std::vector<std::pair<std::string, std::string>> identity_keys(
    const simpang::talent::v1::Person& person, const std::vector<IdentityRule>& rules,
    std::vector<std::string>* skipped) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const IdentityRule& rule : rules) {
    if (rule.kind == IdentityRule::Kind::kEmail) {
      if (person.email().empty()) continue;
      if (auto e = normalise_email(person.email())) {
        keys.emplace(rule.name, *e);
      } else if (skipped) {
        skipped->push_back(rule.name + ": email '" + person.email() + "' is not usable");
      }
      continue;
    }
    for (const auto& id : person.ids()) {
      if (!system_matches(rule.system, id.system()) || id.value().empty()) continue;
      std::string value = id.value();
      if (rule.hashed) {
        if (!looks_hashed(value)) {
          if (skipped) {
            skipped->push_back(rule.name + ": the value for system '" + id.system() +
                               "' is not a hash (32+ hex digits); raw ids are never stored");
          }
          continue;
        }
        value = lower_ascii(value);
      }
      // The system is part of the key: employee 123 of one employer is not 123 of another.
      keys.emplace(rule.name, id.system() + "/" + value);
    }
  }
  return {keys.begin(), keys.end()};
}

IdentityDecision decide(const std::vector<KeyMatch>& matches) {
  IdentityDecision d;
  std::set<std::string> single_targets;
  for (const KeyMatch& m : matches) {
    if (m.others.size() == 1) single_targets.insert(m.others.front());
  }
  const bool conflicting = single_targets.size() > 1;
  for (const KeyMatch& m : matches) {
    if (m.others.empty()) continue;
    if (m.others.size() > 1) {
      d.reviews.push_back({m.rule, m.value, m.others,
                           "held by " + std::to_string(m.others.size()) + " other records"});
    } else if (conflicting) {
      d.reviews.push_back({m.rule,
                           m.value,
                           {single_targets.begin(), single_targets.end()},
                           "the rules point at different records"});
    } else {
      d.links.push_back({m.others.front(), m.rule, m.value});
    }
  }
  return d;
}

std::string evidence_of(const IdentityRule& rule, const std::string& value) {
  if (rule.hashed) {
    const size_t slash = value.rfind('/');
    const std::string system = slash == std::string::npos ? "" : value.substr(0, slash + 1);
    const std::string hash = slash == std::string::npos ? value : value.substr(slash + 1);
    return system + hash.substr(0, 8) + "...";
  }
  return value;
}

}  // namespace simpang::plugins::talent_ledger
