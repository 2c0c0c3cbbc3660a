#include "pickup/settings.h"

#include "common/base/strings.h"

namespace tern::pickup {
namespace {

constexpr const char* kTableParams[] = {"alias_maps", "virtual_alias_maps", "local_login_sender_maps"};

}  // namespace

Result<std::unique_ptr<Settings>> Settings::load(const config::MainCf& cf) {
  auto s = std::make_unique<Settings>();
  s->queue_dir = cf.str("queue_directory");
  s->myhostname = cf.str("myhostname");
  s->mail_name = cf.str("mail_name");
  s->myorigin = cf.str("myorigin");
  auto open_all = [&](const char* param, std::vector<const table::Table*>* views) -> Status {
    for (auto& spec : cf.list(param)) {
      auto t = table::open(spec);
      if (!t) return make_error(t.error().code, std::string(param) + ": " + t.error().text);
      views->push_back(t->get());
      s->tables.push_back(std::move(*t));
    }
    return {};
  };
  if (auto st = open_all("alias_maps", &s->aliases.alias_maps); !st) return st.take_error();
  if (auto st = open_all("virtual_alias_maps", &s->aliases.virtual_alias_maps); !st) return st.take_error();
  if (auto st = open_all("local_login_sender_maps", &s->senders.maps); !st) return st.take_error();
  s->senders.delimiters = cf.str("recipient_delimiter");
  for (auto& d : cf.list("mydestination")) s->aliases.mydestination.push_back(to_lower(d));
  s->aliases.local_domains = s->aliases.mydestination;
  for (auto& d : cf.list("virtual_mailbox_domains")) s->aliases.local_domains.push_back(to_lower(d));
  s->aliases.myorigin = s->myorigin;
  s->aliases.delimiters = s->senders.delimiters;
  s->cleanup.myhostname = s->myhostname;
  s->cleanup.message_size_limit = static_cast<uint64_t>(cf.integer("message_size_limit"));
  s->cleanup.header_size_limit = static_cast<size_t>(cf.integer("header_size_limit"));
  s->cleanup.header_count_limit = static_cast<size_t>(cf.integer("header_count_limit"));
  s->cleanup.hopcount_limit = static_cast<int>(cf.integer("hopcount_limit"));
  // Local submissions are submissions: Message-ID: and Date: are added
  // when missing (RFC 6409 8.2, 8.3), as Postfix's cleanup does for them.
  s->cleanup.add_missing_headers = true;
  s->cleanup.aliases = &s->aliases;
  s->dsn.myhostname = s->myhostname;
  s->dsn.myorigin = s->myorigin;
  s->dsn.double_bounce_recipient = cf.str("double_bounce_recipient");
  if (auto n = parse_int(cf.str("bounce_size_limit")); n && *n >= 0) s->dsn.bounce_size_limit = static_cast<uint64_t>(*n);
  return s;
}

std::vector<std::string> Settings::table_files(const config::MainCf& cf) {
  std::vector<std::string> files;
  for (const char* param : kTableParams) {
    for (auto& spec : cf.list(param)) {
      auto parsed = table::parse_spec(spec);
      if (!parsed) continue;
      files.push_back(parsed->type == "lmdb" ? table::lmdb_file(parsed->path) : parsed->path);
    }
  }
  return files;
}

}  // namespace tern::pickup
