// ParseArgs: see args.h.
#include "fusefs/cli/args.h"

namespace tierfs::cli {

bool Args::Has(std::string_view flag) const {
  for (const auto& [name, value] : flags) {
    if (name == flag) return true;
  }
  return false;
}

std::string Args::Value(std::string_view flag) const {
  std::string out;
  for (const auto& [name, value] : flags) {
    if (name == flag) out = value;
  }
  return out;
}

Result<Args> ParseArgs(const ArgSpec& spec, const std::vector<std::string>& argv) {
  Args args;
  // Help and version first: "status -h" is help even without an operand.
  for (const std::string& a : argv) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") args.help = true;
    if (a == "--version") args.version = true;
  }
  if (args.help || args.version) return args;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 2 || a[0] != '-') {
      args.operands.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    const size_t eq = a.rfind("--", 0) == 0 ? a.find('=') : std::string::npos;
    const std::string word = a.substr(0, eq);
    const Flag* flag = nullptr;
    for (const Flag& f : spec.flags) {
      if (word == f.name || (!f.alias.empty() && word == f.alias)) flag = &f;
    }
    if (flag == nullptr) return Status::InvalidArgument("unknown flag " + a);
    std::string value;
    if (flag->takes_value) {
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return Status::InvalidArgument(word + " needs a value");
      }
    } else if (eq != std::string::npos) {
      return Status::InvalidArgument(word + " takes no value");
    }
    args.flags.emplace_back(std::string(flag->name), std::move(value));
  }
  const size_t n = args.operands.size();
  if (n == 0) return Status::InvalidArgument("missing " + std::string(spec.operand));
  if (n > 1 && !spec.many) {
    return Status::InvalidArgument("takes one " + std::string(spec.operand) + ", got " +
                                   std::to_string(n));
  }
  return args;
}

}  // namespace tierfs::cli
