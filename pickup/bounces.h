#pragma once
// Recipients of a local submission that can never be delivered, and the
// failure notice that tells the sender (pickup(8)). As Postfix does, such a
// recipient is bounced and the others get the message: a sendmail caller
// (cron, a script) has long gone by the time pickup reads its file, so
// keeping the whole file in corrupt/ would lose the mail without a word.
//
//   auto failed = split_undeliverable(aliases, &env.recipients);
//   ... queue the message for what is left in env.recipients ...
//   bounce(settings, source, *failed, ids, clock);   // BLOCKING
//
// Undeliverable for good, each recipient expanded on its own:
//   an alias expansion loop, or more than kMaxAliasResults results   5.4.6
//   an alias whose every target is a program, file or :include:    5.3.5
// (a table that fails is temporary: the whole file waits for the next scan).

#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/queue/alias_expand.h"
#include "common/queue/dsn.h"
#include "common/queue/qfile.h"
#include "common/queue/queue_id.h"
#include "pickup/settings.h"

namespace tern::pickup {

struct Undeliverable {
  queue::Recipient recipient;  // as the sender gave it (qualified)
  std::string status;          // enhanced status code (RFC 3463)
  std::string reason;
};

// Moves the recipients that can never be delivered out of *recipients (the
// rest stay, in order, unexpanded: the cleanup step expands them together)
// and returns them. Errc::kTemporary when a table failed.
Result<std::vector<Undeliverable>> split_undeliverable(const queue::AliasSettings& aliases,
                                                       std::vector<queue::Recipient>* recipients);

// Logs each as bounced (Postfix's "to=<...>, relay=none, ..., status=bounced
// (reason)" under the maildrop file's ID) and queues one failure notice
// (dsn.h) about `original` for those whose NOTIFY asks for it, or for the
// double-bounce recipient when the sender is <>. Returns the notice's queue
// ID, "" when nobody is to be told. BLOCKING.
Result<std::string> bounce(const Settings& settings, const queue::MessageSource& original,
                           const std::vector<Undeliverable>& failed, queue::QueueIdGenerator& ids, Clock& clock);

}  // namespace tern::pickup
