#include "admin/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace simpang::hub::admin {
namespace {

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[64];
  // Counters are integers: written exactly up to 2^53, not in exponent form.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(value));
    out.append(buffer, end);
    return;
  }
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  append_escaped(text_, help, /*quote=*/false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) {
        text_ += ',';
      }
      first = false;
      text_ += label;
      text_ += "=\"";
      append_escaped(text_, label_value, /*quote=*/true);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  append_number(text_, value);
  text_ += '\n';
}

std::string sanitize_metric_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    char mapped = '_';
    if (c >= 'A' && c <= 'Z') {
      mapped = static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      mapped = c;
    }
    if (mapped == '_' && (out.empty() || out.back() == '_')) {
      continue;
    }
    out += mapped;
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  if (!out.empty() && out.front() >= '0' && out.front() <= '9') {
    out.insert(out.begin(), '_');
  }
  return out;
}

}  // namespace simpang::hub::admin
