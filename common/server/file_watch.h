#pragma once
// Files a daemon loaded before its chroot (certificates, keys, tables,
// main.cf itself): when one changes, the daemon finishes its clients and
// exits, and master starts a fresh one that loads the new version
// (DESIGN.md, "Processes"). The inotify descriptor is opened and the watches
// are added while the paths are still reachable; they keep working inside
// the jail. Each file's directory is watched, so an editor's or ternmap's
// write-beside-and-rename is seen as well as an in-place write.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "common/base/fd.h"
#include "common/event/loop.h"

namespace tern::server {

class FileWatch {
 public:
  // Before the chroot. A missing directory is an error; a missing file is
  // watched for its creation.
  Status add(const std::string& path);
  // After the drop: on_change runs once on the loop when any file changes.
  Status start(event::Loop& loop, std::function<void(const std::string& path)> on_change);
  bool empty() const { return files_.empty(); }

 private:
  void readable();

  Fd fd_;
  std::set<std::pair<int, std::string>> files_;  // (watch descriptor, base name)
  std::map<int, std::string> dirs_;              // watch descriptor -> directory
  event::IoWatch watch_;
  std::function<void(const std::string&)> on_change_;
  bool fired_ = false;
};

}  // namespace tern::server
