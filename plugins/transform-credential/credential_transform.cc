// The transform-credential plugin; see credential_transform.h.
#include "credential_transform.h"

#include <utility>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::transform_credential {

using simpang::sdk::Outcome;

CredentialConfig parse_config(const nlohmann::json& config, const std::string& instance_name) {
  simpang::sdk::ConfigReader reader(config);
  CredentialConfig out;
  out.source = "/simpang/transform-credential/" + instance_name;
  out.name_template = reader.optional<std::string>("credential_name", out.name_template);
  if (out.name_template.empty()) {
    throw reader.error("credential_name", "must not be empty");
  }
  if (const Status valid = check_name_template(out.name_template); !valid.ok()) {
    throw reader.error("credential_name", valid.message());
  }
  out.issuer_id = reader.optional<std::string>("issuer_id", out.issuer_id);
  reader.reject_unknown();
  return out;
}

CredentialTransform::CredentialTransform(simpang::sdk::Context& ctx)
    : config_(parse_config(ctx.config(), ctx.instance_name())) {}

Outcome CredentialTransform::on_event(simpang::sdk::Context& ctx, const simpang::v1::Event& event) {
  StatusOr<std::optional<simpang::v1::Event>> decision = credential_for(event, config_);
  if (!decision.ok()) {
    return Outcome::reject(decision.status().message());
  }
  if (!decision->has_value()) {
    return Outcome::ack();
  }
  const std::string id = (*decision)->id();
  if (const Status emitted = ctx.emit(std::move(**decision)); !emitted.ok()) {
    return Outcome::retry_later("emit of " + id + " failed: " + emitted.message());
  }
  return Outcome::ack();
}

}  // namespace simpang::plugins::transform_credential
