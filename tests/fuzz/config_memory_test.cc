// Regression check for the configuration loader's memory under fuzzing: loading configurations
// again and again must not make the process grow, and one small file must not cost much memory
// however its aliases expand. Peak resident memory (VmHWM) is the counted resource: it is what
// libFuzzer's -rss_limit_mb watches. A 334-byte alias "billion laughs" in a plugin's `config:`
// once expanded to a million JSON values (75 MB here, 550 MB under the fuzzer's sanitizers).
//   config_memory_test CORPUS_DIR SCRATCH_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace {

long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

// Nine levels of ten aliases in a plugin's config: a billion values if nothing stops it.
std::string alias_bomb() {
  std::string yaml = "plugins:\n  - name: a\n    plugin: sink-jsonl\n    config:\n";
  yaml += "      a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    const char prev = static_cast<char>(level - 1);
    yaml += std::string("      ") + level + ": &" + level + " [";
    for (int i = 0; i < 10; ++i) {
      yaml += std::string(i > 0 ? ", *" : "*") + prev;
    }
    yaml += "]\n";
  }
  return yaml;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path scratch = argv[2];
  std::filesystem::create_directories(scratch);
  const std::filesystem::path bomb = scratch / "alias_bomb.yaml";
  std::ofstream(bomb) << alias_bomb();
  std::vector<std::filesystem::path> files{bomb};
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    files.push_back(entry.path());
  }
  simpang::hub::LoadOptions options;
  options.inspect_plugins = false;

  const long before = peak_rss_kb();
  auto bomb_result = simpang::hub::load_config(bomb, options);
  const long after_bomb = peak_rss_kb();
  bool limited = false;
  for (const auto& d : bomb_result.diagnostics) {
    limited |= d.message.find("values after expanding aliases") != std::string::npos;
  }
  if (!limited) {
    std::fprintf(stderr, "FAIL: the alias bomb was not stopped at the value limit\n");
    return 1;
  }
  // The value limit bounds one file's cost; 32 MB is several times what it allows.
  constexpr long kMaxOneFileKb = 32 * 1024;
  if (after_bomb - before > kMaxOneFileKb) {
    std::fprintf(stderr, "FAIL: one %zu-byte file raised peak memory by %ld kB (limit %ld kB)\n",
                 alias_bomb().size(), after_bomb - before, kMaxOneFileKb);
    return 1;
  }
  // Then every file many times over: what one round needs, the next must find again.
  constexpr int kRounds = 50;
  long after_first = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (const auto& file : files) {
      (void)simpang::hub::load_config(file, options);
    }
    if (round == 0) {
      after_first = peak_rss_kb();
    }
  }
  const long grown = peak_rss_kb() - after_first;
  constexpr long kMaxGrowthKb = 2 * 1024;
  if (grown > kMaxGrowthKb) {
    std::fprintf(stderr, "FAIL: %d more rounds of %zu files grew peak memory by %ld kB\n",
                 kRounds - 1, files.size(), grown);
    return 1;
  }
  std::printf("alias bomb: +%ld kB peak; %d rounds of %zu files: +%ld kB peak\n",
              after_bomb - before, kRounds, files.size(), grown);
  return 0;
}
