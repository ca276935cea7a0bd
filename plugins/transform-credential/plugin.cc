// Exports CredentialTransform as the plugin "transform-credential". Kept apart from the class so
// tests can link the class without the ABI entry point.
#include "credential_transform.h"

SIMPANG_PLUGIN(simpang::plugins::transform_credential::CredentialTransform, "transform-credential",
               "1.0.0",
               "issues a certification credential for every passed certification completion")
