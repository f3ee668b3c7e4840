// Helpers the tierfs CLI's commands share (fusefs/cli/cli.cc, cli_report.cc):
// errors on stderr, flags, paths, the control xattrs of a mounted tierfs,
// lookups in our own flat JSON, and walking the files named.
// Thread-safety: plain functions for the CLI's one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compress/status.h"

namespace tierfs::cli {

// Prints "tierfs: msg" on stderr; returns 1 (the exit code).
int Fail(const std::string& msg);
// Removes `flag` from args; true if it was there.
bool HasFlag(std::vector<std::string>& args, const std::string& flag);
std::string Absolute(const std::string& p);

// The control xattr of a mounted tierfs path, or an error.
Result<std::string> GetControl(const std::string& path, const char* name);
Status SetControl(const std::string& path, const char* name, const std::string& value);
// A control's error for people ("not on a mounted tierfs" for ENODATA).
std::string ErrText(const Status& s);

// A numeric field of our own flat JSON output (0 when absent).
uint64_t JsonNumber(const std::string& json, const std::string& key);
// A string field of our own JSON output (the first after `from`), unescaped.
std::string JsonText(const std::string& json, const std::string& key, size_t from = 0);
void PrintJsonArray(const std::vector<std::string>& rows);

// The regular files named, or under a directory named (symlinks skipped).
std::vector<std::string> FilesUnder(const std::vector<std::string>& paths);
// Applies fn to each file, reporting each failure on stderr; 1 if any failed.
int ForEachFile(const std::vector<std::string>& files,
                const std::function<Status(const std::string&)>& fn);

// The reporting commands (cli_report.cc).
int CmdStatus(std::vector<std::string> args);
int CmdWhere(std::vector<std::string> args);
int CmdExplain(std::vector<std::string> args);

}  // namespace tierfs::cli
