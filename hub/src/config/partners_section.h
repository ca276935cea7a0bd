// The loader's part for `partner_door:` and `partners:` (config/partners_config.h): read after
// `plugins:` (a partner's name must not clash with an instance's) and before `routes:` (a route
// may take events `from` a partner), and the source-http clients generated from the partners.
//
//   load_partner_sections(reader, find(entries, "partner_door"), find(entries, "partners"),
//   config);
//   ... routes ...
//   apply_partner_clients(reader, config);
//
// Problems are reported through `reader` at their line and column, like every other section's.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace simpang::hub::config_internal {

// Reads both sections into config.partner_door and config.partners. REQUIRES: config.plugins is
// loaded (names of instances are checked against partners' names).
void load_partner_sections(YamlReader& reader, const Entry* door, const Entry* partners,
                           Config& config);

// For every plugin instance whose `config:` says `clients: partners`, replaces that value with
// the list source-http reads (name, token, webhook_secrets, types, source_prefix), one client per
// partner with an `http:` section: in config_json with the resolved secrets, in config_json_shown
// with the references as written.
void apply_partner_clients(YamlReader& reader, Config& config);

// "1048576", "512KiB", "1MiB", "2GiB" (1024-based) or "500kB", "1MB", "1GB" (1000-based), as a
// count of bytes; nullopt when malformed or zero. Thread rule: none.
std::optional<uint64_t> parse_byte_size(std::string_view text);

}  // namespace simpang::hub::config_internal
