#pragma once
// What a server's reply means for a recipient, in the delivery protocol's
// terms (common/ipc/delivery_protocol.h), worded as Postfix words it so the
// log lines and mailq read the same:
//
//   2xx  delivered ("relayed" when the next hop did not offer DSN and the
//        recipient asked NOTIFY=SUCCESS: RFC 3461 5.2.2), reason: the reply
//        ("250 2.0.0 <bob@example.org> Saved")
//   4xx  deferred, reason "host X said: <reply> (in reply to CMD command)"
//   5xx  bounced, the same reason
//
// dsn is the reply's enhanced status code, else X.0.0; reply is the raw
// reply text (for the DSN's Diagnostic-Code).

#include <string>
#include <string_view>

#include "common/ipc/delivery_protocol.h"
#include "common/mail/smtp_reply.h"

namespace tern::smtp_client {

using mail::Reply;

struct Peer {
  std::string label;  // "mx.example[192.0.2.1]", "private/deliver[private/deliver]"
  std::string relay;  // "mx.example[192.0.2.1]:25", "private/deliver"
};

ipc::DeliveryResult result_from_reply(size_t index, const Reply& reply, const Peer& peer, std::string_view command,
                                      bool dsn_offered, unsigned notify);

// A failure without a usable reply (connect, timeout, lost connection).
ipc::DeliveryResult result_failure(size_t index, ipc::DeliveryAction action, std::string dsn, std::string relay,
                                   std::string reason);

// deferred or bounced by the class of an enhanced status code ("5.x.x").
ipc::DeliveryAction action_for_dsn(std::string_view dsn);

}  // namespace tern::smtp_client
