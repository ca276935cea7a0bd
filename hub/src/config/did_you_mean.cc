#include "config/did_you_mean.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace simpang::hub::config_internal {
namespace {

constexpr size_t kMaxDistance = 2;
constexpr size_t kMinPrefix = 3;

// Case is not a meaningful difference in a typo ("Routes" means "routes").
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows suffice for the transposition rule, which looks two characters back.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    previous[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const std::string w = lower(word);
  const std::string* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& candidate : candidates) {
    if (candidate == word) {
      return std::nullopt;
    }
    const size_t d = edit_distance(w, lower(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = &candidate;
    }
  }
  if (best != nullptr && best_distance <= kMaxDistance && best_distance < w.size()) {
    return *best;
  }
  if (w.size() >= kMinPrefix) {
    for (const std::string& candidate : candidates) {
      const std::string c = lower(candidate);
      if (c.starts_with(w) || (c.size() >= kMinPrefix && w.starts_with(c))) {
        return candidate;
      }
    }
  }
  return std::nullopt;
}

std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> guess = did_you_mean(word, candidates);
  return guess ? "; did you mean '" + *guess + "'?" : std::string();
}

}  // namespace simpang::hub::config_internal
