#include "router/instance_glob.h"

#include <cstddef>

namespace simpang::hub {

bool instance_glob_matches(std::string_view glob, std::string_view name) {
  // Greedy with one backtrack point: on a mismatch the most recent `*` absorbs one more
  // character. An earlier `*` never needs to grow once a later one has matched, so this is exact.
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t g = 0;
  size_t n = 0;
  size_t star_g = kNone;
  size_t star_n = 0;
  while (n < name.size()) {
    if (g < glob.size()) {
      if (glob[g] == '*') {
        star_g = g++;
        star_n = n;
        continue;
      }
      if (glob[g] == '?' || glob[g] == name[n]) {
        ++g;
        ++n;
        continue;
      }
    }
    if (star_g == kNone) {
      return false;
    }
    g = star_g + 1;
    n = ++star_n;
  }
  while (g < glob.size() && glob[g] == '*') {
    ++g;
  }
  return g == glob.size();
}

}  // namespace simpang::hub
