#pragma once
// Listening sockets master owns and passes to children. A reload keeps every
// listener whose ServiceEntry::listener_key() is unchanged, so no port is
// ever closed while the suite runs.

#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/config/main_cf.h"
#include "common/config/master_cf.h"

namespace tern::master {

struct ListenerSet {
  std::string key;
  std::string description;  // "127.0.0.1:25, [::1]:25" or the socket path
  std::vector<Fd> fds;
};

// Opens the sockets of one service: inet on every address it names (or every
// inet_interfaces address, per inet_protocols); unix with its owner, group
// and mode (owner and group only when root).
Result<ListenerSet> open_listeners(const config::ServiceEntry& entry, const config::MainCf& cf);

}  // namespace tern::master
