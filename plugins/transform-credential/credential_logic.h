// The transform-credential decision, as a pure function: which delivered events earn a
// certification credential, and the talent.credential.issued event that says so. No SDK context,
// so it is unit-tested directly (tests/unit/sdk/credential_logic_test.cc).
//
//   CredentialConfig config{.source = "/simpang/transform-credential/creds"};
//   StatusOr<std::optional<Event>> out = credential_for(completion_event, config);
//   // !out.ok(): the input is unusable (reject it); *out empty: nothing to issue (ack it);
//   // else: emit **out, then ack.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "simpang/sdk/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::transform_credential {

inline constexpr std::string_view kCompletionRecorded = "talent.completion.recorded";
inline constexpr std::string_view kCredentialIssued = "talent.credential.issued";
inline constexpr std::string_view kDefaultNameTemplate = "Certified: {course_id}";

struct CredentialConfig {
  // The credential's name. Placeholders: {course_id}, {person_id}, {enrollment_id}; "{{" and "}}"
  // are literal braces.
  std::string name_template = std::string(kDefaultNameTemplate);
  std::string issuer_id;  // Credential.issuer_id; empty leaves it unset
  std::string source = "/simpang/transform-credential/transform-credential";
};

// Checks a name template; the error says what is wrong with it.
Status check_name_template(std::string_view name_template);

// Decides what a delivered event yields:
//   - a talent.completion.recorded whose Completion has passed && certification: the
//     talent.credential.issued event, with id "cred-<input id>" (a redelivered input yields the
//     same id, so consumers see a duplicate, not a second credential), the Credential's
//     credential_id equal to it, subject the person id, time and issued_at the completion's
//     completed_at (else the input's time);
//   - any other event, or a completion that earns nothing: std::nullopt;
//   - a completion whose data is not a Completion, or lacks person_id or course_id: an error
//     naming the reason.
// REQUIRES: check_name_template(config.name_template).ok()
StatusOr<std::optional<simpang::v1::Event>> credential_for(const simpang::v1::Event& input,
                                                           const CredentialConfig& config);

}  // namespace simpang::plugins::transform_credential
