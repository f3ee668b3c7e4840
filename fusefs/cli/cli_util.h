// Helpers the tierfs CLI's commands share (fusefs/cli/cli.cc, cli_report.cc):
// errors on stderr, flags, paths, the mounts, the control xattrs of a mounted
// tierfs, lookups in our own flat JSON, and walking the files named.
// Thread-safety: plain functions for the CLI's one thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compress/status.h"
#include "fusefs/cli/args.h"

namespace tierfs::cli {

// The exit codes: the command failed (the reason on stderr), wrong usage.
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints "tierfs: msg" on stderr; returns kExitFailed.
int Fail(const std::string& msg);
// Prints "tierfs: COMMAND: msg (see 'tierfs COMMAND --help')" on stderr;
// returns kExitUsage.
int UsageError(const std::string& command, const std::string& msg);
// Removes `flag` from args; true if it was there.
bool HasFlag(std::vector<std::string>& args, const std::string& flag);
std::string Absolute(const std::string& p);

// A line of /proc/self/mountinfo.
struct MountEntry {
  std::string mountpoint, fstype, source;
  std::string options;  // the mount's own and its superblock's, comma-separated
  dev_t dev = 0;        // st_dev of the files on it
};
std::vector<MountEntry> Mounts();

// The control xattr of a mounted tierfs path, or an error.
Result<std::string> GetControl(const std::string& path, const char* name);
Status SetControl(const std::string& path, const char* name, const std::string& value);

// A numeric field of our own flat JSON output (0 when absent).
uint64_t JsonNumber(const std::string& json, const std::string& key);
// A string field of our own JSON output (the first after `from`), unescaped.
std::string JsonText(const std::string& json, const std::string& key, size_t from = 0);
void PrintJsonArray(const std::vector<std::string>& rows);

// The regular files named, or under a directory named (symlinks skipped).
std::vector<std::string> FilesUnder(const std::vector<std::string>& paths);
// Applies fn to each file on a mounted tierfs, reporting each failure on
// stderr; kExitFailed if any failed. A file on another filesystem is such a
// failure ("not on a mounted tierfs"), and fn is not called for it: the
// control xattrs mean nothing there, and a setxattr would just set them.
// This is the check every command on a PATH makes.
int ForEachFile(const std::vector<std::string>& files,
                const std::function<Status(const std::string&)>& fn);

// A command: its name, what --help prints (on stdout), what it accepts and
// what it does. The dispatcher (cli.cc) parses the arguments against `args`
// and answers --help and --version for every command alike.
struct Command {
  std::string_view name;
  const char* help;
  ArgSpec args;
  // The command parses its own words (mount, whose syntax is the one
  // mount(8) gives its helpers): they are all in Args::operands.
  bool raw = false;
  int (*run)(const Args& args);
};

// The reporting commands (cli_report.cc).
extern const Command kStatusCommand, kWhereCommand, kExplainCommand;

}  // namespace tierfs::cli
