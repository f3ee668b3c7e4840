// Args: the command line of one tierfs command, parsed against what the
// command accepts (its Flags and how many operands), in one place for every
// command, so that --help, --version, unknown flags, "--" and missing or
// extra operands behave alike everywhere.
// Thread-safety: plain values and a pure function.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compress/status.h"

namespace tierfs::cli {

// A flag a command accepts: "--json", with an optional one-letter alias
// ("-s" for "--summary"), taking a value or not ("--to hot", "--to=hot").
struct Flag {
  std::string_view name;
  std::string_view alias = "";  // "" when none
  bool takes_value = false;
};

// What a command accepts. Every command also accepts --help (-h) and
// --version, which ParseArgs reports instead of checking the rest.
struct ArgSpec {
  std::vector<Flag> flags;
  std::string_view operand;  // how usage names the operands: "PATH", "STORE"
  bool many = false;         // one or more operands; else exactly one
};

struct Args {
  bool help = false;     // --help or -h: nothing else was checked
  bool version = false;  // --version: nothing else was checked
  // The flags given, by their long name, in order, with their values ("" for
  // a flag without one).
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<std::string> operands;

  bool Has(std::string_view flag) const;
  // The value of the last `flag` given, "" when absent.
  std::string Value(std::string_view flag) const;
};

// Parses `argv` (the words after the command's name): flags anywhere, "--"
// ends them. An unknown flag, a flag missing its value, a value given to a
// flag that takes none, or too few or too many operands are InvalidArgument
// errors saying which.
Result<Args> ParseArgs(const ArgSpec& spec, const std::vector<std::string>& argv);

}  // namespace tierfs::cli
