// Keeps docs/writing-a-plugin.md and its example from drifting apart: every code block whose fence
// names a file (```cpp file=examples/tutorial-xapi-completion/xapi_completion.cc) must equal that
// file byte for byte, and every source file of the example must be shown in the tutorial. The
// example itself is built and tested out of tree by kit_test.sh, so the tutorial's code compiles
// and passes its tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::filesystem::path kSource = SIMPANG_SOURCE_DIR;
constexpr char kDoc[] = "docs/writing-a-plugin.md";
constexpr char kExample[] = "examples/tutorial-xapi-completion";

struct Block {
  std::string file;  // as named in the fence, relative to the repository
  std::string text;  // the block's lines, each with its newline
  int line = 0;      // of the opening fence
};

// The fenced blocks whose info string has a `file=PATH` word.
std::vector<Block> marked_blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  std::istringstream in(markdown);
  std::string line;
  int number = 0;
  Block* open = nullptr;
  bool in_unmarked = false;
  while (std::getline(in, line)) {
    ++number;
    const bool fence = line.rfind("```", 0) == 0;
    if (open != nullptr) {
      if (fence) {
        open = nullptr;
      } else {
        open->text += line + "\n";
      }
      continue;
    }
    if (fence) {
      if (in_unmarked) {
        in_unmarked = false;
        continue;
      }
      const size_t at = line.find(" file=");
      if (at == std::string::npos) {
        in_unmarked = true;
        continue;
      }
      std::string file = line.substr(at + 6);
      file = file.substr(0, file.find(' '));
      blocks.push_back(Block{file, "", number});
      open = &blocks.back();
    }
  }
  return blocks;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(DocCodeTest, TheParserFindsMarkedBlocksOnly) {
  const auto blocks = marked_blocks(
      "text\n```sh\nnot this\n```\n```cpp file=a/b.cc\nint x;\n\nint y;\n```\n"
      "```cmake file=CMakeLists.txt extra\nproject(x)\n```\n");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].file, "a/b.cc");
  EXPECT_EQ(blocks[0].text, "int x;\n\nint y;\n");
  EXPECT_EQ(blocks[0].line, 5);
  EXPECT_EQ(blocks[1].file, "CMakeLists.txt");
  EXPECT_EQ(blocks[1].text, "project(x)\n");
}

TEST(DocCodeTest, EveryMarkedBlockEqualsItsFile) {
  const std::string doc = read(kSource / kDoc);
  ASSERT_FALSE(doc.empty()) << kDoc << " is missing";
  const auto blocks = marked_blocks(doc);
  ASSERT_GE(blocks.size(), 4u) << "the tutorial should show its example's files";
  for (const Block& block : blocks) {
    const auto path = kSource / block.file;
    ASSERT_TRUE(std::filesystem::is_regular_file(path))
        << kDoc << ":" << block.line << ": names " << block.file << ", which does not exist";
    EXPECT_EQ(block.text, read(path))
        << kDoc << ":" << block.line << ": the block differs from " << block.file
        << "; edit the file, then paste it into the document (or the other way round)";
  }
}

TEST(DocCodeTest, EverySourceFileOfTheExampleIsInTheTutorial) {
  std::set<std::string> shown;
  for (const Block& block : marked_blocks(read(kSource / kDoc))) {
    shown.insert(block.file);
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource / kExample)) {
    const std::string name = entry.path().filename().string();
    const std::string ext = entry.path().extension().string();
    if (ext == ".cc" || ext == ".h" || name == "CMakeLists.txt") {
      ++files;
      EXPECT_EQ(shown.count(std::string(kExample) + "/" + name), 1u)
          << name << " is part of the example but not shown in " << kDoc;
    }
  }
  EXPECT_GE(files, 4);
}

}  // namespace
