// libFuzzer target: the RADOS index value decoder must refuse or accept any
// input without reading out of bounds, and re-encode what it accepts to the
// same bytes.
#include <array>
#include <cstdlib>
#include <cstring>

#include "store/cold_rados.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tierfs;
  auto in = std::span(reinterpret_cast<const std::byte*>(data), size);
  auto v = DecodeRadosIndexValue(in);
  if (v) {
    std::array<std::byte, kRadosIndexValueSize> out;
    EncodeRadosIndexValue(*v, out);
    if (size != out.size() || std::memcmp(out.data(), data, size) != 0) std::abort();
  }
  return 0;
}
