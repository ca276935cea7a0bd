// "Did you mean ...?" for configuration keys and names: the closest candidate to a misspelt word.
//
//   std::string hint = did_you_mean_suffix("rout", {"hub", "plugins", "routes"});
//   // hint == "; did you mean 'routes'?"
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simpang::hub::config_internal {

// Edit distance with adjacent transpositions counted as one edit ("optimal string alignment"),
// because swapped letters are the commonest typo ("isolaiton").
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate `word` most likely meant: the one at the smallest edit distance when that is at
// most 2 (and less than the word's length, so "x" does not suggest "to"), else one that starts with
// `word` or that `word` starts with (3 characters at least). Ties go to the earlier candidate.
// nullopt when nothing is close, or when `word` is itself a candidate.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);

// "; did you mean 'X'?" or "" — ready to append to a message.
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace simpang::hub::config_internal
