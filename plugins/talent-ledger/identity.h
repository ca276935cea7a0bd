// Identity across systems: the keys a person record carries under the configured rules, and the
// decision to link two records or to ask a person. Strong identifiers only: a normalised email,
// an external id of a named system (an HR employee number, an LMS account, a hashed national id).
// A name is never a key, so two people sharing a name are never linked.
//
//   auto keys = identity_keys(person, rules);              // [(rule, normalised value)]
//   IdentityDecision d = decide(person_id, matches);        // links, or reviews when ambiguous
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger_config.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::talent_ledger {

// Normalises an email for matching: trims white space (ASCII and U+00A0), case-folds (ASCII,
// Latin-1, Latin Extended-A, Greek, Cyrillic), composes a base letter and a following combining
// accent into the precomposed letter where Latin-1 has one (NFC for the common cases), and checks
// the shape (one '@', something on either side). nullopt when it is not usable as a key (invalid
// UTF-8, no '@'): such an email links nothing.
std::optional<std::string> normalise_email(std::string_view email);

// Whether `system` matches a rule's system pattern: equal, or a prefix when the pattern ends in
// '*'.
bool system_matches(std::string_view pattern, std::string_view system);

// The (rule name, value) keys of `person` under `rules`, without duplicates. A hashed rule's value
// must look like a hash (32 or more hex digits); a raw value is skipped and named in `skipped`.
std::vector<std::pair<std::string, std::string>> identity_keys(
    const simpang::talent::v1::Person& person, const std::vector<IdentityRule>& rules,
    std::vector<std::string>* skipped = nullptr);

// What each key matched: rule, value, and the other person ids holding it (self excluded).
struct KeyMatch {
  std::string rule;
  std::string value;
  std::vector<std::string> others;
};

struct IdentityDecision {
  struct NewLink {
    std::string other_id;
    std::string rule;
    std::string evidence;
  };
  struct NewReview {
    std::string rule;
    std::string evidence;
    std::vector<std::string> candidates;
    std::string reason;
  };
  std::vector<NewLink> links;
  std::vector<NewReview> reviews;
};

// Decides from the matches of one person's keys: a key held by exactly one other record links to
// it, unless the keys point at different records (then nothing is linked and every such key goes
// to review); a key held by several other records goes to review.
IdentityDecision decide(const std::vector<KeyMatch>& matches);

// What a link shows as evidence: an email as is; an external id's value shortened to its first 8
// characters and an ellipsis when the rule is hashed (the hash itself stays in person_keys).
std::string evidence_of(const IdentityRule& rule, const std::string& value);

}  // namespace simpang::plugins::talent_ledger
