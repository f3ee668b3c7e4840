// In-memory ByteSource and ByteSink, for tests, fuzzing and benchmarks.
//
// Thread-safety: MemorySource is immutable and safe to read from several
// threads; MemorySink is used by one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "compress/byte_io.h"
#include "compress/status.h"

namespace tierfs {

// A read-only view of caller-owned bytes, which must outlive the source.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const std::byte> data) : data_(data) {}

  uint64_t size() const override { return data_.size(); }

  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    if (offset > data_.size() || dst.size() > data_.size() - offset) {
      return Status::Corruption("read past the end of a memory source");
    }
    std::copy_n(data_.begin() + static_cast<ptrdiff_t>(offset), dst.size(), dst.begin());
    return Status::OK();
  }

 private:
  std::span<const std::byte> data_;
};

// Collects everything appended, in order.
class MemorySink final : public ByteSink {
 public:
  Status Append(std::span<const std::byte> data) override {
    data_.insert(data_.end(), data.begin(), data.end());
    return Status::OK();
  }

  const std::vector<std::byte>& data() const { return data_; }
  std::vector<std::byte>& data() { return data_; }

 private:
  std::vector<std::byte> data_;
};

}  // namespace tierfs
