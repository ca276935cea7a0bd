// The OpenAPI document of the admin API, docs/openapi.json, compiled in at build time so the hub
// serves exactly the file kept in the docs (GET /openapi.json).
#pragma once

namespace simpang::hub::admin {

extern const char kOpenApiJson[];

}  // namespace simpang::hub::admin
