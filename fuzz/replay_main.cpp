// Replays committed fuzz inputs through a target's LLVMFuzzerTestOneInput
// without libFuzzer (and without clang): `make test` runs every target over
// fuzz/corpus/<target>/ so that inputs which once found bugs stay fixed.
// Usage: <target>_replay FILE_OR_DIR...; fails if no input was found, so an
// emptied corpus does not pass silently.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr)
    LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path p{argv[i]};
    if (fs::is_directory(p)) {
      for (auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no inputs to replay\n");
    return 1;
  }
  for (auto& f : files) {
    std::ifstream in{f, std::ios::binary};
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", f.c_str());
      return 1;
    }
    std::vector<uint8_t> buf{std::istreambuf_iterator<char>{in},
                             std::istreambuf_iterator<char>{}};
    // A fresh copy of exactly the input's size, as libFuzzer passes it, so
    // that an ASan build of the replay catches reads past the end.
    std::vector<uint8_t> exact(buf.begin(), buf.end());
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
