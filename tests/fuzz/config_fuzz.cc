// Fuzz target: the configuration loader (hub/src/config). Any bytes must give either a Config or
// diagnostics that each name a position in the file, and never an exception or a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("simpang-config-fuzz-" + std::to_string(getpid()) +
                                                ".yaml");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  simpang::hub::LoadOptions options;
  options.inspect_plugins = false;
  auto result = simpang::hub::load_config(file, options);
  if (!result.ok() && result.diagnostics.empty()) {
    std::abort();  // refused without a word of why
  }
  for (const auto& diagnostic : result.diagnostics) {
    if (diagnostic.message.empty()) {
      std::abort();
    }
  }
  return 0;
}
