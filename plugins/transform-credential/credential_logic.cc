// The transform-credential decision; see credential_logic.h.
#include "credential_logic.h"

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::transform_credential {
namespace {

namespace talent = simpang::talent::v1;

// Expands the template; the same walk validates it (when `completion` is null).
Status expand(std::string_view name_template, const talent::Completion* completion,
              std::string* out) {
  for (size_t i = 0; i < name_template.size(); ++i) {
    const char c = name_template[i];
    if ((c == '{' || c == '}') && i + 1 < name_template.size() && name_template[i + 1] == c) {
      out->push_back(c);
      ++i;
      continue;
    }
    if (c == '}') {
      return Status::Error("unmatched '}' at offset " + std::to_string(i) + " (write '}}')");
    }
    if (c != '{') {
      out->push_back(c);
      continue;
    }
    const size_t close = name_template.find('}', i);
    if (close == std::string_view::npos) {
      return Status::Error("unclosed '{' at offset " + std::to_string(i) + " (write '{{')");
    }
    const std::string_view name = name_template.substr(i + 1, close - i - 1);
    if (name == "course_id") {
      out->append(completion ? completion->course_id() : "");
    } else if (name == "person_id") {
      out->append(completion ? completion->person_id() : "");
    } else if (name == "enrollment_id") {
      out->append(completion ? completion->enrollment_id() : "");
    } else {
      return Status::Error("unknown placeholder {" + std::string(name) +
                           "} (known: {course_id}, {person_id}, {enrollment_id})");
    }
    i = close;
  }
  return Status::Ok();
}

}  // namespace

Status check_name_template(std::string_view name_template) {
  std::string ignored;
  return expand(name_template, nullptr, &ignored);
}

StatusOr<std::optional<simpang::v1::Event>> credential_for(const simpang::v1::Event& input,
                                                           const CredentialConfig& config) {
  if (input.type() != kCompletionRecorded) {
    return std::optional<simpang::v1::Event>();
  }
  talent::Completion completion;
  if (const Status parsed = simpang::sdk::get_json_data(input, completion); !parsed.ok()) {
    return Status::Error("completion data unusable: " + parsed.message());
  }
  if (!completion.passed() || !completion.certification()) {
    return std::optional<simpang::v1::Event>();
  }
  if (completion.person_id().empty()) {
    return Status::Error("completion of event '" + input.id() + "' has no personId");
  }
  if (completion.course_id().empty()) {
    return Status::Error("completion of event '" + input.id() + "' has no courseId");
  }

  const std::string id = "cred-" + input.id();
  talent::Credential credential;
  credential.set_credential_id(id);
  credential.set_person_id(completion.person_id());
  credential.set_kind(talent::CREDENTIAL_KIND_CERTIFICATION);
  std::string name;
  if (const Status expanded = expand(config.name_template, &completion, &name); !expanded.ok()) {
    return Status::Error("credential_name: " + expanded.message());
  }
  credential.set_name(std::move(name));
  credential.set_issuer_id(config.issuer_id);
  credential.set_course_id(completion.course_id());
  if (completion.has_completed_at()) {
    *credential.mutable_issued_at() = completion.completed_at();
  } else if (input.has_time()) {
    *credential.mutable_issued_at() = input.time();
  }

  simpang::v1::Event out;
  out.set_id(id);
  out.set_source(config.source);
  out.set_spec_version("1.0");
  out.set_type(std::string(kCredentialIssued));
  out.set_subject(completion.person_id());
  if (credential.has_issued_at()) {
    *out.mutable_time() = credential.issued_at();
  }
  simpang::sdk::set_json_data(out, credential);
  return std::optional<simpang::v1::Event>(std::move(out));
}

}  // namespace simpang::plugins::transform_credential
