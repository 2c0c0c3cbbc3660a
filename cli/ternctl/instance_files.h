#pragma once
// The text of a fresh instance's main.cf, master.cf and aliases, as
// `ternctl init` writes them.

#include <string>

namespace tern::ctl {

struct InstanceSettings {
  std::string dir;             // absolute configuration directory
  std::string domain;          // --domain, default example.test
  std::string hostname;        // mail.<domain>
  std::string listen_address;  // --listen-address, default 127.0.0.1
  std::string admin;           // --admin, default demo@<domain>
  int port_base = 0;           // 0: the standard ports
  bool port_base_given = false;
  std::string daemon_directory;
  std::string command_directory;
  // Accounts named in master.cf's reserved options (from main.cf's defaults).
  std::string login_owner, auth_owner, vmail_owner, private_group, login_group;
};

std::string main_cf_text(const InstanceSettings& s);
// Each service whose program is missing from daemon_directory is written
// commented out, so later versions only need the program installed and the
// line uncommented (or a new init).
std::string master_cf_text(const InstanceSettings& s);
std::string aliases_text(const InstanceSettings& s);

}  // namespace tern::ctl
