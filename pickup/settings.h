#pragma once
// pickup's parameters and tables, read once per process from main.cf before
// the privilege drop (the tables are opened outside the chroot). Every name
// is in the parameter table (common/config/params.cc) and in tern.cf(5).

#include <memory>
#include <string>
#include <vector>

#include "common/config/main_cf.h"
#include "common/queue/alias_expand.h"
#include "common/queue/cleanup.h"
#include "common/queue/dsn.h"
#include "common/queue/local_sender.h"
#include "common/table/table.h"

namespace tern::pickup {

struct Settings {
  std::string queue_dir;  // as seen after the drop (main.cc sets it)
  std::string myhostname;
  std::string mail_name;
  std::string myorigin;  // appended to addresses without a domain
  queue::CleanupSettings cleanup;
  queue::DsnSettings dsn;  // failure notices for undeliverable recipients (bounces.h)
  queue::LocalSenderPolicy senders;
  queue::AliasSettings aliases;
  // Owners of the tables the views above point into.
  std::vector<std::unique_ptr<table::Table>> tables;

  static Result<std::unique_ptr<Settings>> load(const config::MainCf& cf);
  // The files to watch: a rebuilt table makes pickup exit and master start
  // a fresh one.
  static std::vector<std::string> table_files(const config::MainCf& cf);
};

}  // namespace tern::pickup
