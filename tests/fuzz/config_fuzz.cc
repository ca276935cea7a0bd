// Fuzz target: the configuration loader (hub/src/config). Any bytes must give either a Config or
// diagnostics that each name a position in the file, and never an exception or a crash. A
// position is the file as given, a line from 1 to the number of lines the text has, and a column
// from 1: the file is always readable here, so a "whole file" diagnostic (line 0) is a defect too.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace {

[[noreturn]] void fail(const char* what, const simpang::hub::Diagnostic* diagnostic) {
  std::fprintf(stderr, "config fuzz: %s%s%s\n", what, diagnostic ? ": " : "",
               diagnostic ? diagnostic->to_string().c_str() : "");
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("simpang-config-fuzz-" + std::to_string(getpid()) +
                                                ".yaml");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Lines the text has: a mark at the very end (after a final newline) is on the last, empty one.
  const int lines = 1 + static_cast<int>(std::count(data, data + size, static_cast<uint8_t>('\n')));
  simpang::hub::LoadOptions options;
  options.inspect_plugins = false;
  auto result = simpang::hub::load_config(file, options);
  if (!result.ok() && result.diagnostics.empty()) {
    fail("refused without a word of why", nullptr);
  }
  if (result.ok() != result.config.has_value()) {
    fail("a Config and diagnostics at once", nullptr);
  }
  for (const auto& diagnostic : result.diagnostics) {
    if (diagnostic.message.empty()) {
      fail("a diagnostic without a message", &diagnostic);
    }
    if (diagnostic.where.file != file.string()) {
      fail("a diagnostic naming another file", &diagnostic);
    }
    if (diagnostic.where.line < 1 || diagnostic.where.line > lines) {
      fail("a diagnostic whose line is not in the file", &diagnostic);
    }
    if (diagnostic.where.column < 1) {
      fail("a diagnostic without a column", &diagnostic);
    }
  }
  return 0;
}
