// libFuzzer target: the owner record decoder (store/cold_owner.h) must
// refuse or accept any input without reading out of bounds, and re-encode
// what it accepts to the same bytes.
#include <cstdlib>
#include <cstring>

#include "store/cold_owner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tierfs;
  auto r = DecodeOwnerRecord(std::span(reinterpret_cast<const std::byte*>(data), size));
  if (r) {
    const std::string out = EncodeOwnerRecord(*r);
    if (size != out.size() || std::memcmp(out.data(), data, size) != 0) std::abort();
  }
  return 0;
}
