// What a change to a SCIM User means to the programme: simpang.talent.v1 events (data in JSON).
//   create                          talent.person.registered (+ talent.employment.updated when the
//                                   user carries a title or enterprise attributes)
//   person fields changed           talent.person.updated
//   active true -> false, DELETE    talent.person.deactivated
//   title/organization/department/manager changed   talent.employment.updated
// Event ids are "scim:<client>:<id>:v<version>:<kind>", so a change published again is the same
// event and the hub de-duplicates it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simpang/v1/event.pb.h"

namespace simpang::plugins::hr_scim {

struct EventContext {
  std::string source;           // the events' source, e.g. "/hr/scim"
  std::string client;           // the configured client name
  std::string organisation_id;  // the client's employer
};

// `before` is null for a create, `after` null for a delete. `version` is the new meta.version
// (for a delete: the deleted one plus one).
std::vector<simpang::v1::Event> user_change_events(const EventContext& context,
                                                   const nlohmann::json& before,
                                                   const nlohmann::json& after, int64_t version,
                                                   int64_t now_ms);

// Simpang's person id for a SCIM user: "scim:<client>:<id>".
std::string person_id(const EventContext& context, const std::string& scim_id);

}  // namespace simpang::plugins::hr_scim
