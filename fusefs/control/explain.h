// Explain: what `tierfs explain` says of each chunk of a file — where it is,
// why it is there, and what the migrator does with it next and when — built
// from the store's facts (ObjectInfo, pins), the policy's judgement of each
// chunk alone (OutlookOf, with the migrator's count of hot bytes) and the
// migrator's running pass (QueuedMove).
// Control::ExplainJson (control.h) gathers the facts; these pure functions
// word them.
//
// Per chunk, "reason" is one word for why the chunk is where it is:
//   moving    the running migrator pass is moving it (or will, N moves on)
//   pinned    hot, and the file is pinned
//   reads     hot: promoted after promote_reads reads in the promote window
//   write     hot: promoted by a write into it
//   request   moved here by tierfs migrate
//   new       hot since it was written (or since before this mount)
//   idle      cold: demoted after cold_after without access
//   watermark cold: demoted because the hot tier was over its high watermark
//   earlier   cold since before this mount
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/migrator.h"
#include "store/policy.h"

namespace tierfs {

inline constexpr std::string_view kExplainControl = "user.tierfs.explain";
// A getxattr reply is at most 64 KiB: a page of explain stays below.
inline constexpr size_t kMaxExplainBytes = 60000;
// And holds at most this many chunks (each chunk's JSON takes several
// hundred bytes, so the byte bound usually ends a page first): a page
// copies at most this many objects of the file from the store.
inline constexpr size_t kMaxExplainChunks = 128;

// What holds for every chunk of the file at the time of the explanation.
struct ExplainContext {
  PolicyConfig policy;
  int64_t promote_window_ns = 0;
  uint64_t hot_bytes = 0;  // in the whole store, as the migrator last counted (MigratorStats)
  bool migrator_running = false;
  int64_t interval_ns = 0;   // between migrator passes
  int64_t last_pass_ns = 0;  // 0: none yet
  uint64_t rate_bytes_per_sec = 0;
  int64_t now_ns = 0;
};

struct ChunkFacts {
  ObjectInfo info;
  bool pinned = false;
  ObjectOutlook outlook;
  std::optional<QueuedMove> moving;
};

// The one-word reason (see above).
std::string_view ChunkReason(const ChunkFacts& c);
// Seconds until the migrator next does what outlook says (-1: never or the
// migrator is stopped).
double NextInSeconds(const ChunkFacts& c, const ExplainContext& x);
// The explanation for people: why here, the chunk's facts weighed (the
// hot tier's are the file's: ExplainHeaderJson), what next.
std::string ChunkWhy(const ChunkFacts& c, const ExplainContext& x);
// The chunk as a JSON object (keys in docs/cli.md, "tierfs explain").
std::string ChunkJson(const ChunkFacts& c, const ExplainContext& x);
// The file-level part of the reply: `{"ino":..,...,"chunks":[` (to be
// followed by ChunkJson objects and "],\"next_chunk\":N}").
std::string ExplainHeaderJson(uint64_t ino, uint64_t size, uint64_t chunk_size, bool pinned,
                              const ExplainContext& x);

}  // namespace tierfs
