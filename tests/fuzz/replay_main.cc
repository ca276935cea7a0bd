// Runs a fuzz target over the files of a corpus directory, once each, without libFuzzer: the test
// command replays every stored input (seeds and past findings) on every build, whatever compiler.
//   fuzz_replay_TARGET CORPUS_DIR
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR\n";
    return 2;
  }
  size_t inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++inputs;
  }
  if (inputs == 0) {
    std::cerr << "no inputs in " << argv[1] << "\n";
    return 1;
  }
  std::cout << inputs << " inputs replayed without a crash\n";
  return 0;
}
