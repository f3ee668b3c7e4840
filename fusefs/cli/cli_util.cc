// The CLI's shared helpers; see cli_util.h.
#include "fusefs/cli/cli_util.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace tierfs::cli {

int Fail(const std::string& msg) {
  std::cerr << "tierfs: " << msg << "\n";
  return kExitFailed;
}

int UsageError(const std::string& command, const std::string& msg) {
  std::cerr << "tierfs: " << command << ": " << msg << " (see 'tierfs " << command << " --help')\n";
  return kExitUsage;
}

bool HasFlag(std::vector<std::string>& args, const std::string& flag) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == flag) {
      args.erase(it);
      return true;
    }
  }
  return false;
}

std::string Absolute(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

namespace {

std::string Unescape(const std::string& s) {  // mountinfo escapes " \t\n\\" as \ooo
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> Mounts() {
  std::vector<MountEntry> out;
  std::ifstream info("/proc/self/mountinfo");
  std::string line;
  while (std::getline(info, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts, field;
    f >> id >> parent >> dev >> root >> point >> opts;
    while (f >> field && field != "-") {
    }
    MountEntry e;
    e.mountpoint = Unescape(point);
    unsigned major = 0, minor = 0;
    if (std::sscanf(dev.c_str(), "%u:%u", &major, &minor) == 2) e.dev = makedev(major, minor);
    std::string super_opts;
    f >> e.fstype >> e.source >> super_opts;
    e.source = Unescape(e.source);
    e.options = opts + "," + super_opts;
    out.push_back(e);
  }
  return out;
}

Result<std::string> GetControl(const std::string& path, const char* name) {
  std::string buf(64 << 10, '\0');
  ssize_t n = ::getxattr(path.c_str(), name, buf.data(), buf.size());
  if (n < 0) return Status::Posix(errno, path);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Status SetControl(const std::string& path, const char* name, const std::string& value) {
  if (::setxattr(path.c_str(), name, value.data(), value.size(), 0) != 0) {
    return Status::Posix(errno, path);
  }
  return Status::OK();
}

uint64_t JsonNumber(const std::string& json, const std::string& key) {
  auto p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return 0;
  const char* begin = json.data() + p + key.size() + 3;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(begin, json.data() + json.size(), v);
  return ec == std::errc() ? v : 0;  // absent or malformed: shown as 0
}

std::vector<std::string> FilesUnder(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(p, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path().string());
      }
    } else {
      files.push_back(p);
    }
  }
  return files;
}

namespace {

// The devices of the tierfs mounted now: a file is on one when its st_dev
// is one of them (a bind mount of a part of one too).
std::set<dev_t> TierfsDevices() {
  std::set<dev_t> out;
  for (const MountEntry& m : Mounts()) {
    if (m.fstype == "fuse.tierfs") out.insert(m.dev);
  }
  return out;
}

Status OnTierfs(const std::string& path, const std::set<dev_t>& tierfs) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Posix(errno, path);
  if (!tierfs.count(st.st_dev)) return Status::InvalidArgument(path + ": not on a mounted tierfs");
  return Status::OK();
}

std::string ErrText(const Status& s) {
  if (s.posix_errno() == 0) return s.message();
  return s.message() + ": " + std::strerror(s.posix_errno());
}

}  // namespace

int ForEachFile(const std::vector<std::string>& files,
                const std::function<Status(const std::string&)>& fn) {
  const std::set<dev_t> tierfs = TierfsDevices();
  int rc = 0;
  for (const std::string& f : files) {
    Status st = OnTierfs(f, tierfs);
    if (st.ok()) st = fn(f);
    if (!st.ok()) {
      std::cerr << "tierfs: " << ErrText(st) << "\n";
      rc = kExitFailed;
    }
  }
  return rc;
}

void PrintJsonArray(const std::vector<std::string>& rows) {
  std::cout << "[";
  for (size_t i = 0; i < rows.size(); ++i) std::cout << (i ? "," : "") << rows[i];
  std::cout << "]\n";
}

std::string JsonText(const std::string& json, const std::string& key, size_t from) {
  auto p = json.find("\"" + key + "\":\"", from);
  if (p == std::string::npos) return "";
  std::string out;
  for (size_t i = p + key.size() + 4; i < json.size() && json[i] != '"'; ++i) {
    if (json[i] != '\\' || i + 1 == json.size()) {
      out += json[i];
      continue;
    }
    const char c = json[++i];
    if (c == 'n') {
      out += '\n';
    } else if (c == 't') {
      out += '\t';
    } else if (c == 'u' && i + 4 < json.size()) {
      out += static_cast<char>(std::stoi(json.substr(i + 1, 4), nullptr, 16));
      i += 4;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace tierfs::cli
