// SCIM user changes as talent events; see scim_events.h.
#include "scim_events.h"

#include <google/protobuf/util/time_util.h>

#include "scim_filter.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::hr_scim {
namespace {

using nlohmann::json;
namespace talent = simpang::talent::v1;
using google::protobuf::util::TimeUtil;

std::string text_at(const json& resource, const char* schema, const char* name, const char* sub) {
  const json* v = resolve(resource, AttrPath{schema, name, sub == nullptr ? "" : sub});
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string display_name(const json& user) {
  std::string name = text_at(user, "", "displayName", nullptr);
  if (name.empty()) name = text_at(user, "", "name", "formatted");
  if (name.empty()) {
    name = text_at(user, "", "name", "givenName");
    const std::string family = text_at(user, "", "name", "familyName");
    if (!family.empty()) name += (name.empty() ? "" : " ") + family;
  }
  return name;
}

// The primary email, else the work one, else the first.
std::string email(const json& user) {
  const json* emails = find_member(user, "emails");
  if (emails == nullptr || !emails->is_array()) return {};
  const json* chosen = nullptr;
  for (const json& e : *emails) {
    if (!e.is_object()) continue;
    const json* primary = find_member(e, "primary");
    const json* type = find_member(e, "type");
    if (primary != nullptr && *primary == true) {
      chosen = &e;
      break;
    }
    if (chosen == nullptr ||
        (type != nullptr && type->is_string() && iequals(type->get<std::string>(), "work"))) {
      chosen = &e;
    }
  }
  const json* value = chosen == nullptr ? nullptr : find_member(*chosen, "value");
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

bool active(const json& user) {
  const json* a = find_member(user, "active");
  return a == nullptr || !a->is_boolean() || a->get<bool>();
}

talent::Person person(const EventContext& context, const json& user) {
  talent::Person p;
  const std::string id = user.value("id", "");
  p.set_person_id(person_id(context, id));
  auto add_id = [&p](std::string system, std::string value) {
    if (value.empty()) return;
    talent::ExternalId* x = p.add_ids();
    x->set_system(std::move(system));
    x->set_value(std::move(value));
  };
  add_id("scim:" + context.client, id);
  add_id("scim:" + context.client + ":externalId", text_at(user, "", "externalId", nullptr));
  add_id("hr:" + context.organisation_id,
         text_at(user, kEnterpriseSchema, "employeeNumber", nullptr));
  p.set_display_name(display_name(user));
  p.set_email(email(user));
  p.set_segment(talent::SEGMENT_INDUSTRY);
  google::protobuf::Timestamp created;
  if (TimeUtil::FromString(text_at(user, "", "meta", "created"), &created)) {
    *p.mutable_registered_at() = created;
  }
  return p;
}

talent::Employment employment(const EventContext& context, const json& user, bool is_active,
                              int64_t now_ms) {
  talent::Employment e;
  e.set_person_id(person_id(context, user.value("id", "")));
  e.set_organisation_id(context.organisation_id);
  e.set_job_title(text_at(user, "", "title", nullptr));
  e.set_active(is_active);
  // The enterprise `organization` is the department's context within the one employer.
  const std::string organization = text_at(user, kEnterpriseSchema, "organization", nullptr);
  const std::string department = text_at(user, kEnterpriseSchema, "department", nullptr);
  e.set_department(organization.empty() || department.empty() ? organization + department
                                                              : organization + " / " + department);
  const std::string manager = text_at(user, kEnterpriseSchema, "manager", "value");
  if (!manager.empty()) e.set_manager_person_id(person_id(context, manager));
  if (!is_active) *e.mutable_end_date() = TimeUtil::MillisecondsToTimestamp(now_ms);
  return e;
}

simpang::v1::Event make(const EventContext& context, const std::string& id, int64_t version,
                        const char* kind, const char* type, const google::protobuf::Message& data,
                        int64_t now_ms) {
  simpang::v1::Event event;
  event.set_id("scim:" + context.client + ":" + id + ":v" + std::to_string(version) + ":" + kind);
  event.set_source(context.source);
  event.set_type(type);
  event.set_subject(person_id(context, id));
  *event.mutable_time() = TimeUtil::MillisecondsToTimestamp(now_ms);
  simpang::sdk::set_json_data(event, data);
  return event;
}

std::string employment_key(const talent::Employment& e) {
  return e.job_title() + "\n" + e.department() + "\n" + e.manager_person_id();
}

}  // namespace

std::string person_id(const EventContext& context, const std::string& scim_id) {
  return "scim:" + context.client + ":" + scim_id;
}

std::vector<simpang::v1::Event> user_change_events(const EventContext& context, const json& before,
                                                   const json& after, int64_t version,
                                                   int64_t now_ms) {
  std::vector<simpang::v1::Event> events;
  if (after.is_null()) {
    if (before.is_null()) return events;
    events.push_back(make(context, before.value("id", ""), version, "deactivated",
                          "talent.person.deactivated", person(context, before), now_ms));
    events.push_back(make(context, before.value("id", ""), version, "employment",
                          "talent.employment.updated", employment(context, before, false, now_ms),
                          now_ms));
    return events;
  }
  const std::string id = after.value("id", "");
  const talent::Person now_person = person(context, after);
  const talent::Employment now_job = employment(context, after, active(after), now_ms);
  if (before.is_null()) {
    events.push_back(
        make(context, id, version, "registered", "talent.person.registered", now_person, now_ms));
    if (employment_key(now_job) != "\n\n" || !active(after)) {
      events.push_back(
          make(context, id, version, "employment", "talent.employment.updated", now_job, now_ms));
    }
    if (!active(after)) {
      events.push_back(make(context, id, version, "deactivated", "talent.person.deactivated",
                            now_person, now_ms));
    }
    return events;
  }
  talent::Person old_person = person(context, before);
  if (old_person.SerializeAsString() != now_person.SerializeAsString()) {
    events.push_back(
        make(context, id, version, "updated", "talent.person.updated", now_person, now_ms));
  }
  const bool was_active = active(before), is_active = active(after);
  const talent::Employment old_job = employment(context, before, was_active, now_ms);
  if (employment_key(old_job) != employment_key(now_job) || was_active != is_active) {
    events.push_back(
        make(context, id, version, "employment", "talent.employment.updated", now_job, now_ms));
  }
  if (was_active && !is_active) {
    events.push_back(
        make(context, id, version, "deactivated", "talent.person.deactivated", now_person, now_ms));
  }
  return events;
}

}  // namespace simpang::plugins::hr_scim
