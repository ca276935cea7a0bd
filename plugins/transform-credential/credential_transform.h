// The transform-credential plugin: turns certification-earning completions into
// talent.credential.issued events. The decision is credential_for() in credential_logic.h; this
// class reads the config and settles deliveries.
#pragma once

#include "credential_logic.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::transform_credential {

// Reads the instance's `config:` mapping (credential_name, issuer_id). Throws
// simpang::sdk::ConfigError naming the key and the problem.
CredentialConfig parse_config(const nlohmann::json& config, const std::string& instance_name);

class CredentialTransform : public simpang::sdk::Transform {
 public:
  explicit CredentialTransform(simpang::sdk::Context& ctx);

  // Emits the credential and acks; acks other events; rejects a completion it cannot read;
  // asks for a retry when the emit fails.
  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override;

 private:
  const CredentialConfig config_;
};

}  // namespace simpang::plugins::transform_credential
