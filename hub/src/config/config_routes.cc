// The configuration loader, routes: each route's name, sources (instance globs), matcher,
// destinations, ordering and retry policy, checked against the instances the walk found. The walk
// and the other sections are in config.cc; the loader's declaration in config_loader.h.
#include <algorithm>
#include <set>

#include "config/config_loader.h"
#include "config/did_you_mean.h"
#include "router/instance_glob.h"
#include "router/route_table.h"

namespace simpang::hub::config_internal {

void Loader::load_retry(const Entry& entry, const std::string& owner, RetryPolicy& retry) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    reader_.error(entry.value.Mark(), "'retry' of " + owner +
                                          " must be a mapping (max_attempts, initial_backoff, "
                                          "max_backoff, deadline); found " +
                                          describe(entry.value));
    return;
  }
  auto entries = reader_.read_map(entry.value, "'retry' of " + owner, &kRetryKeys);
  if (const Entry* e = YamlReader::find(entries, "max_attempts")) {
    if (auto v = reader_.get_uint(*e, "'retry.max_attempts' of " + owner, 1, 1000000)) {
      retry.max_attempts = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = YamlReader::find(entries, "initial_backoff")) {
    if (auto d = reader_.get_duration(*e, "'retry.initial_backoff' of " + owner, true)) {
      retry.initial_backoff = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "max_backoff")) {
    if (auto d = reader_.get_duration(*e, "'retry.max_backoff' of " + owner, true)) {
      retry.max_backoff = *d;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "deadline")) {
    if (auto d = reader_.get_duration(*e, "'retry.deadline' of " + owner, true)) {
      retry.deadline = *d;
    }
  }
  if (retry.max_backoff < retry.initial_backoff) {
    reader_.error(entry.value.Mark(),
                  "'retry' of " + owner + ": max_backoff cannot be shorter than initial_backoff");
  }
}

void Loader::load_routes(const Entry* entry) {
  if (entry == nullptr || entry->value.IsNull()) {
    return;  // a hub without routes only counts what arrives as unrouted
  }
  if (!entry->value.IsSequence()) {
    reader_.error(entry->value.Mark(),
                  "'routes' must be a list of routes (each starting with '- name:'); found " +
                      describe(entry->value));
    return;
  }
  size_t index = 0;
  for (const YAML::Node& item : entry->value) {
    load_route(item, ++index);
  }
}

void Loader::load_route(const YAML::Node& item, size_t index) {
  std::string owner = "route #" + std::to_string(index);
  if (!item.IsMap()) {
    reader_.error(reader_.item_mark(item),
                  owner + " must be a mapping with at least 'name', 'from' and 'to'; found " +
                      describe(item));
    return;
  }
  RouteConfig route;
  route.where = reader_.location(item.Mark());

  owner = entry_label(item, "route", index);
  auto entries = reader_.read_map(item, owner, &kRouteKeys);

  if (const Entry* e = YamlReader::find(entries, "name"); e == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'name'");
  } else if (auto name = reader_.get_string(*e, "'name' of " + owner)) {
    route.name = *name;
    auto [it, inserted] = route_lines_.emplace(*name, route.where.line);
    if (!inserted) {
      reader_.error(e->value.Mark(), "duplicate route name '" + *name +
                                         "' (first defined at line " + std::to_string(it->second) +
                                         ")");
    }
  }

  if (const Entry* e = YamlReader::find(entries, "from"); e == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'from'");
  } else {
    // Not a structured binding: clang before 16 cannot capture one in the lambda below.
    for (auto& item_and_node :
         reader_.get_string_list(*e, "'from' of " + owner, "an instance name")) {
      std::string& glob = item_and_node.first;
      const YAML::Node& node = item_and_node.second;
      Status valid = validate_instance_glob(glob);
      if (!valid.ok()) {
        reader_.error(node.Mark(), "'from' of " + owner + " has an invalid pattern '" + glob +
                                       "': " + valid.message());
      } else if (has_wildcard(glob)) {
        const bool any =
            std::any_of(instance_names_.begin(), instance_names_.end(),
                        [&](const std::string& n) { return instance_glob_matches(glob, n); });
        if (!any) {
          reader_.error(node.Mark(), "'from' pattern '" + glob + "' of " + owner +
                                         " matches no configured instance (instances: " +
                                         join(instance_names_) + ")");
        }
      } else if (auto it = instances_.find(glob); it == instances_.end()) {
        reader_.error(node.Mark(), owner + " takes events from '" + glob +
                                       "', which is not a configured instance" +
                                       did_you_mean_suffix(glob, instance_names_));
      } else if (it->second.kind == SIMPANG_KIND_SINK) {
        reader_.error(node.Mark(), owner + " takes events from '" + glob + "', but its plugin '" +
                                       it->second.plugin + "' is a sink and publishes nothing");
      }
      route.from.push_back(std::move(glob));
    }
  }

  route.types = {"**"};
  if (const Entry* e = YamlReader::find(entries, "match")) {
    load_match(*e, owner, route);
  }

  if (const Entry* e = YamlReader::find(entries, "to"); e == nullptr) {
    reader_.error(item.Mark(), owner + " is missing required key 'to'");
  } else {
    std::set<std::string> seen;
    for (auto& [name, node] : reader_.get_string_list(*e, "'to' of " + owner, "an instance name")) {
      if (!seen.insert(name).second) {
        reader_.error(node.Mark(), owner + " lists '" + name + "' in 'to' more than once");
        continue;
      }
      auto it = instances_.find(name);
      if (it == instances_.end()) {
        std::string message =
            owner + " sends events to '" + name + "', which is not a configured instance";
        if (has_wildcard(name)) {
          message += " ('to' takes instance names, not patterns)";
        } else {
          message += did_you_mean_suffix(name, instance_names_);
        }
        reader_.error(node.Mark(), message);
      } else if (it->second.partner) {
        reader_.error(node.Mark(), owner + " sends events to '" + name +
                                       "', which is a partner: partners publish through the "
                                       "partner door and receive nothing from it");
      } else if (it->second.kind == SIMPANG_KIND_SOURCE) {
        reader_.error(node.Mark(), owner + " sends events to '" + name + "', but its plugin '" +
                                       it->second.plugin + "' is " + kind_text(*it->second.kind) +
                                       " and cannot receive events");
      }
      route.to.push_back(std::move(name));
    }
  }

  if (const Entry* e = YamlReader::find(entries, "retry")) {
    load_retry(*e, owner, route.retry);
  }
  if (const Entry* e = YamlReader::find(entries, "ordering")) {
    if (auto ordering = reader_.get_choice(*e, "'ordering' of " + owner, {"none", "subject"})) {
      route.ordering = *ordering == "subject" ? Ordering::kSubject : Ordering::kNone;
    }
  }

  config_.routes.push_back(std::move(route));
}

void Loader::load_match(const Entry& entry, const std::string& owner, RouteConfig& route) {
  if (entry.value.IsNull()) {
    return;
  }
  if (!entry.value.IsMap()) {
    reader_.error(entry.value.Mark(),
                  "'match' of " + owner +
                      " must be a mapping (type, subject_prefix, extensions); found " +
                      describe(entry.value));
    return;
  }
  const std::string section = "'match' of " + owner;
  auto entries = reader_.read_map(entry.value, section, &kMatchKeys);

  if (const Entry* e = YamlReader::find(entries, "type")) {
    route.types.clear();
    for (auto& [pattern, node] :
         reader_.get_string_list(*e, "'match.type' of " + owner, "an event type pattern")) {
      Status valid = validate_type_pattern(pattern);
      if (!valid.ok()) {
        reader_.error(node.Mark(), "'match.type' of " + owner + " has an invalid pattern '" +
                                       pattern + "': " + valid.message());
      }
      route.types.push_back(std::move(pattern));
    }
    if (route.types.empty()) {
      route.types = {"**"};  // already reported; keeps the route well-formed for later checks
    }
  }
  if (const Entry* e = YamlReader::find(entries, "subject_prefix")) {
    if (auto s =
            reader_.get_string(*e, "'match.subject_prefix' of " + owner, /*allow_empty=*/true)) {
      route.subject_prefix = *s;
    }
  }
  if (const Entry* e = YamlReader::find(entries, "extensions")) {
    if (e->value.IsNull()) {
      return;
    }
    if (!e->value.IsMap()) {
      reader_.error(e->value.Mark(),
                    "'match.extensions' of " + owner +
                        " must be a mapping of extension attribute to value; found " +
                        describe(e->value));
      return;
    }
    const std::string what = "'match.extensions' of " + owner;
    for (const auto& [name, ext] : reader_.read_map(e->value, what, nullptr)) {
      if (!valid_extension_name(name)) {
        reader_.error(ext.key.Mark(),
                      "extension attribute name '" + name + "' in " + what +
                          " is invalid: CloudEvents attribute names use only lower-case "
                          "letters a-z and digits 0-9");
        continue;
      }
      if (auto value = reader_.get_string(ext, "extension '" + name + "' in " + what,
                                          /*allow_empty=*/true)) {
        route.extensions[name] = *value;
      }
    }
  }
}

}  // namespace simpang::hub::config_internal
