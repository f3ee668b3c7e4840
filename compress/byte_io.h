// ByteSource / ByteSink: the only I/O the cold object format needs.
//
// compress/ knows nothing about files or the store; store/ adapts its Env
// files to these interfaces. Implementations decide their own thread-safety;
// the format code calls them from one thread at a time per object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "compress/status.h"

namespace tierfs {

// Random-access reads of an immutable byte string of known size.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Fills all of dst from offset, or fails (Corruption if past the end).
  virtual Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) = 0;
};

// Append-only output.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Append(std::span<const std::byte> data) = 0;
};

}  // namespace tierfs
