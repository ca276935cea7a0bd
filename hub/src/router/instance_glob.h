// Globs over plugin instance names, as a route's `from` list writes them: `*` matches any run of
// characters (including none), `?` exactly one, everything else itself.
//
//   instance_glob_matches("lms-*", "lms-moodle");   // true
//   instance_glob_matches("hr-?", "hr-12");         // false
#pragma once

#include <string_view>

namespace simpang::hub {

// True when `name` matches `glob`. Never allocates. Works on any glob; validate_instance_glob
// (route_table.h) is what restricts the characters a configuration may use.
bool instance_glob_matches(std::string_view glob, std::string_view name);

}  // namespace simpang::hub
