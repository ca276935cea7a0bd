// Secret references in configuration strings: `${env:NAME}` and `${file:PATH}`, resolved by the
// hub so that a token or password need not be written in the configuration file itself.
//
//   std::vector<ReferenceProblem> problems;
//   std::string value = resolve_references("Bearer ${env:TOKEN}", config_dir, problems);
//
// Grammar, inside any string (a whole value or part of one):
//   ${env:NAME}   the environment variable NAME ([A-Za-z_][A-Za-z0-9_]*); set but empty is "".
//   ${file:PATH}  the content of the file PATH (relative to `base_dir`), at most
//                 kMaxSecretFileBytes, with one trailing newline ("\n" or "\r\n") removed. PATH
//                 cannot contain '}'.
//   $${           a literal "${" (the only escape; a '$' anywhere else is itself).
// Any other "${" is a problem (an unknown kind or a missing '}'), so a mistyped reference is never
// passed on as text. A resolved value must be UTF-8 text (the plugin receives JSON).
// Messages name the variable or the path and why; they never contain a resolved value.
// Thread rule: any thread (reads the environment, which the hub does not change while it runs).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace simpang::hub::config_internal {

// 64 KiB: far above any token, key or certificate chain, small enough that a reference to the wrong
// file (a log, a device) is caught rather than read into every plugin's configuration.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// A problem with one reference: the byte offset of its "${" in the text, its length as written
// (to the closing '}' or the end of the text), and what is wrong.
struct ReferenceProblem {
  size_t offset = 0;
  size_t length = 0;
  std::string message;
};

// Whether `text` holds anything resolve_references() would change: a "${" (a reference, an escape
// or a mistake).
bool has_references(std::string_view text);

// `text` with every reference replaced by its value and every "$${" by "${". Appends one problem
// per reference that cannot be resolved (that reference then contributes nothing); the result is
// meaningful only if none was added.
std::string resolve_references(std::string_view text, const std::filesystem::path& base_dir,
                               std::vector<ReferenceProblem>& problems);

}  // namespace simpang::hub::config_internal
