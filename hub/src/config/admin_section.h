// The loader's part for `admin:` (config/admin_config.h), hooked into load_config() with one call.
// Problems are reported through `reader` at their line and column, like every other section's.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace simpang::hub::config_internal {

// Reads the section into config.admin; nothing when `admin` is null (no admin API).
void load_admin_section(YamlReader& reader, const Entry* admin, Config& config);

}  // namespace simpang::hub::config_internal
