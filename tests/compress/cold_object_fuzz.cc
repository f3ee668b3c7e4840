// libFuzzer target for ColdObjectReader: any input must give a status, never
// a crash, a sanitizer report or a huge allocation.
//
// Each input is tried twice: as is, and with its header and index checksums
// recomputed, so that mutations reach the index validation and the zstd
// decoder instead of stopping at the first checksum.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "compress/memory_io.h"
#include "tests/compress/test_util.h"

namespace {

void Exercise(std::span<const std::byte> object) {
  tierfs::MemorySource source(object);
  (void)tierfs::testing::CheckObject(&source);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  Exercise({bytes, size});
  std::vector<std::byte> sealed(bytes, bytes + size);
  tierfs::testing::SealChecksums(sealed);
  Exercise(sealed);
  return 0;
}
