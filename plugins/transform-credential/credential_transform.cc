// The transform-credential plugin; see credential_transform.h.
#include "credential_transform.h"

#include <utility>

namespace simpang::plugins::transform_credential {

using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;

CredentialConfig parse_config(const nlohmann::json& config, const std::string& instance_name) {
  if (!config.is_object()) {
    throw ConfigError("config: must be a mapping, got " + config.dump());
  }
  CredentialConfig out;
  out.source = "/simpang/transform-credential/" + instance_name;
  for (const auto& [key, value] : config.items()) {
    if (key != "credential_name" && key != "issuer_id") {
      throw ConfigError("config." + key + ": unknown key (known: credential_name, issuer_id)");
    }
    if (!value.is_string()) {
      throw ConfigError("config." + key + ": must be a string, got " + value.dump());
    }
  }
  if (const auto it = config.find("credential_name"); it != config.end()) {
    out.name_template = it->get<std::string>();
    if (out.name_template.empty()) {
      throw ConfigError("config.credential_name: must not be empty");
    }
    if (const Status valid = check_name_template(out.name_template); !valid.ok()) {
      throw ConfigError("config.credential_name: " + valid.message());
    }
  }
  if (const auto it = config.find("issuer_id"); it != config.end()) {
    out.issuer_id = it->get<std::string>();
  }
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
